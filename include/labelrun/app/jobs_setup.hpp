#pragma once
// Building the dispatcher from the configuration: Docker hosts (GPUs given or
// discovered), the code source (GitHub, or local folders), the job store, and
// the /metrics lines of jobs and GPUs.

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "labelrun/config/config.hpp"
#include "labelrun/core/result.hpp"
#include "labelrun/github/client.hpp"
#include "labelrun/runtime/source.hpp"
#include "labelrun/scheduler/dispatcher.hpp"

namespace labelrun::app {

// The configured hosts, or the local Docker daemon as one CPU host when none
// are. Connections are made when first needed, so a daemon that is down does
// not keep labelrun from starting. `gpus: discover` asks nvidia-smi here.
Result<std::vector<scheduler::Host>> MakeHosts(const config::Config& cfg);

// GitHub's tarballs when a GitHub client exists and no `sources` are set;
// otherwise the configured local folders, else `fallback_dir` for every
// repository, else no code at all (never a folder nobody named: the config
// folder holds secrets). `lookup_client`, when given, resolves commits (see
// runtime::GithubSourceOptions::lookup_client).
Result<std::unique_ptr<runtime::SourceProvider>> MakeSource(
    const config::Config& cfg, github::Client* client, const std::filesystem::path& fallback_dir,
    github::Client* lookup_client = nullptr);

// A random id kept in the state folder: the containers of this installation
// carry it (labelrun.instance), so that several can share a Docker daemon.
Result<std::string> EnsureInstanceId(const std::filesystem::path& state_dir);

// The whole content of a token file, trimmed; an empty file is an error.
Result<std::string> ReadTokenFile(const std::filesystem::path& path);

scheduler::DispatcherOptions DispatcherOptionsFrom(const config::Config& cfg, std::string instance);

// Prometheus lines for jobs, the queue and GPUs.
void RenderJobMetrics(const scheduler::DispatcherStats& stats, std::string& out);

}  // namespace labelrun::app
