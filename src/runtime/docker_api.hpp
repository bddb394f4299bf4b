#pragma once
// Docker Engine API requests and answers as values: JSON bodies built from
// labelrun's types, and Docker's JSON mapped back. No I/O.

#include <string>
#include <string_view>
#include <vector>

#include "labelrun/core/result.hpp"
#include "labelrun/runtime/docker.hpp"
#include "labelrun/runtime/runtime.hpp"

namespace labelrun::runtime {

// Container ids and names as they may appear in a request path:
// [a-zA-Z0-9][a-zA-Z0-9_.-]*, at most 255 bytes. kInvalidArgument otherwise.
Status CheckContainerRef(std::string_view ref);

// The body of POST /containers/create. kInvalidArgument for a bad name or no image.
// The security defaults (no-new-privileges, CapDrop ALL, not privileged, Init)
// are always set; DeviceRequests only with gpu_ids, by DeviceIDs (never Count).
Result<std::string> CreateContainerBody(const ContainerSpec& spec, const DockerOptions& options);

// The daemon's error text: the "message" of a JSON error body, else the body
// itself (trimmed, at most 1 KiB), else "HTTP <status>".
std::string DockerErrorMessage(long status, std::string_view body);
// 400 invalid argument, 401/403 permission denied, 404 not found, 409 already
// exists for a name in use (else failed precondition), 500 internal,
// 502-504 unavailable, else internal.
ErrorCode DockerErrorCode(long status, std::string_view message);
// `what`: "<message>", with the code above.
Error DockerError(long status, std::string_view body, const std::string& what);
// A 400 saying the requested API version is too old or too new.
bool IsApiVersionRefusal(long status, std::string_view message);

struct DaemonVersion {
  std::string api_version;
  std::string min_api_version;
  std::string version;  // the engine's, e.g. "20.10.24+dfsg1"
};
Result<DaemonVersion> ParseDaemonVersion(std::string_view body);
// min(client max, daemon's ApiVersion), or kFailedPrecondition naming both ranges.
Result<std::string> ChooseApiVersion(const DaemonVersion& daemon, const DockerOptions& options);

Result<std::string> ParseCreatedId(std::string_view body);
Result<ContainerState> ParseContainerState(std::string_view body);
Result<std::vector<ContainerSummary>> ParseContainerList(std::string_view body);
// ?all=1&filters={"label":["k=v",...]}, URL-encoded.
std::string ListQuery(const std::map<std::string, std::string>& labels);

// GET /images/{name}/json: Id; and the RepoDigests entry of `image`'s repository
// (the first one when none matches), or the Id when there is none.
Result<std::string> ParseImageId(std::string_view body);
Result<std::string> ParseImageDigest(std::string_view body, std::string_view image);

// One line of the pull progress stream: an error message when the line is an
// error (`error` or `errorDetail.message`), else empty. Unparsable lines are
// errors too.
std::string PullLineError(std::string_view line);

// {"StatusCode":N,"Error":{"Message":"..."}}
Result<ExitStatus> ParseWaitBody(std::string_view body);

// POST /containers/{id}/exec's body and answer, GET /exec/{id}/json's answer.
Result<std::string> ExecCreateBody(const std::vector<std::string>& cmd);
Result<std::string> ParseExecId(std::string_view body);
struct ExecState {
  bool running = false;
  int64_t exit_code = 0;
};
Result<ExecState> ParseExecState(std::string_view body);

}  // namespace labelrun::runtime
