#pragma once
// Private to config/: the reader the config file is parsed with (the shared
// yaml::Reader), and the sections parsed in jobs_config.cpp.

#include <yaml-cpp/yaml.h>

#include "labelrun/config/config.hpp"
#include "labelrun/core/yaml_reader.hpp"

namespace labelrun::config {

using YamlReader = yaml::Reader;

// hosts, scheduler, sources, api, report and dashboard (jobs_config.cpp).
void ParseJobSections(YamlReader& r, const YAML::Node& root, Config& cfg);

}  // namespace labelrun::config
