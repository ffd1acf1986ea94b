// Fuzz entry for reading `docker-compose config` output
// (compose/compose_tool.hpp): the YAML renders a release's compose file,
// so whoever publishes a release writes it. Any bytes must give a model or
// an error, never a crash (yaml-cpp's exceptions stay inside); a model
// must keep the header's promises: services in name order, each with a
// valid name and one image reference.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/image_reference.hpp"
#include "compose/compose_tool.hpp"
#include "fuzz_check.hpp"

using upgrader::fuzz::check;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto model = upgrader::parseRenderedConfig(text, "fuzz");
  if (!model) {
    check(!model.error().message().empty(), "an error says why");
    return 0;
  }
  check(!model->services.empty(), "a model has services");
  check(model->services.size() <= 1000, "at most 1000 services");
  for (std::size_t i = 0; i < model->services.size(); ++i) {
    const auto& s = model->services[i];
    check(!s.name.empty() && s.name.size() <= 255, "a service has a name");
    check(s.name.find_first_of("/\n\r\t \x1b") == std::string::npos,
          "a service name has no separator or control byte");
    check(upgrader::isValidImageReference(s.image),
          "a service runs one image reference");
    check(i == 0 || model->services[i - 1].name <= s.name,
          "services come in name order");
  }
  return 0;  // libFuzzer reserves other values
}
