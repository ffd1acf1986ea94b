// upgrader: safe upgrades of systemd services. All logic lives in the core
// library; see src/cli/cli.hpp.
#include "cli/cli.hpp"

int main(int argc, char** argv) { return upgrader::runCli(argc, argv); }
