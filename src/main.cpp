#include <csignal>

#include "labelrun/app/cli.hpp"

int main(int argc, char** argv) {
  // A peer that closes a connection (Docker, GitHub, a browser) must fail that
  // write, not end the process.
  std::signal(SIGPIPE, SIG_IGN);
  return labelrun::app::RunCli(argc, argv);
}
