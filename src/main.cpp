#include "labelrun/app/cli.hpp"

int main(int argc, char** argv) { return labelrun::app::RunCli(argc, argv); }
