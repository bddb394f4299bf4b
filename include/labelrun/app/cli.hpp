#pragma once
// The `labelrun` command line: serve, check-config, version.

namespace labelrun::app {

// Parses argv and runs the subcommand. Returns the process exit code: 0 on
// success, 1 when the command failed, 2 for a usage error.
int RunCli(int argc, char** argv);

}  // namespace labelrun::app
