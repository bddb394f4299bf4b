// Placeholder for the rules branch only; the main branch owns the real CLI.
#include "labelrun/app/cli.hpp"

namespace labelrun::app {
int RunCli(int, char**) { return 0; }
}  // namespace labelrun::app
