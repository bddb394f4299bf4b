#pragma once
// `labelrun jobs list|show ID|cancel ID --url URL --token-file F`: the jobs API
// as a person uses it over SSH.

#include <ostream>
#include <string>

namespace labelrun::app {

struct JobsArgs {
  std::string url = "http://127.0.0.1:8080";  // labelrun's base URL
  std::string token_file;
  std::string ca_file;  // for an https URL with a private CA
  std::string repo;     // list: only this repository
  std::string state;    // list: only this state ("open" for all unfinished)
  bool json = false;    // print the API's JSON as it is
};

// 0 on success; 1 when the server refused or could not be reached; 2 on usage errors.
int RunJobsList(const JobsArgs& args, std::ostream& out, std::ostream& err);
int RunJobsShow(const JobsArgs& args, const std::string& id, std::ostream& out, std::ostream& err);
int RunJobsCancel(const JobsArgs& args, const std::string& id, std::ostream& out,
                  std::ostream& err);

}  // namespace labelrun::app
