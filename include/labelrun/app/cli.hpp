#pragma once
// Placeholder for the rules branch only; the main branch owns the real CLI.
namespace labelrun::app {
int RunCli(int argc, char** argv);
}  // namespace labelrun::app
