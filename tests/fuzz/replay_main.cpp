// Replays every file of a corpus directory through LLVMFuzzerTestOneInput, so
// that the fuzz entry keeps building and stays crash-free on known inputs in
// ordinary (non-clang) builds. Usage: NAME_fuzz_replay DIR.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size);

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIRECTORY\n", argv[0]);
    return 2;
  }
  std::error_code ec;
  std::filesystem::directory_iterator it(argv[1], ec);
  if (ec) {
    std::fprintf(stderr, "Failed to open '%s': %s\n", argv[1],
                 ec.message().c_str());
    return 1;
  }
  int replayed = 0;
  for (; it != std::filesystem::directory_iterator(); it.increment(ec)) {
    if (ec) break;
    if (!it->is_regular_file(ec)) continue;
    std::ifstream in(it->path(), std::ios::binary);
    std::vector<char> bytes((std::istreambuf_iterator<char>(in)),
                            std::istreambuf_iterator<char>());
    LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(bytes.data()),
                           bytes.size());
    ++replayed;
  }
  if (ec) {
    std::fprintf(stderr, "Failed to read '%s': %s\n", argv[1],
                 ec.message().c_str());
    return 1;
  }
  // An empty corpus would make this test pass while testing nothing.
  if (replayed == 0) {
    std::fprintf(stderr, "No files in '%s'\n", argv[1]);
    return 1;
  }
  std::printf("Replayed %d inputs from '%s'\n", replayed, argv[1]);
  return 0;
}
