// Endpoint validation, API version comparison and image references: the parts
// of talking to Docker that need no daemon.

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "labelrun/core/strings.hpp"
#include "labelrun/runtime/docker.hpp"

namespace labelrun::runtime {
namespace {

constexpr size_t kMaxSocketPath = 107;  // sockaddr_un.sun_path, less the NUL

Error Invalid(std::string message) {
  return Error(ErrorCode::kInvalidArgument, std::move(message));
}

bool AllOf(std::string_view s, bool (*ok)(char)) {
  for (char c : s) {
    if (!ok(c)) return false;
  }
  return true;
}

bool IsHostChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_';
}

bool IsNameChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_' ||
         c == '/' || c == ':';
}

bool IsTagChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_';
}

bool IsDigits(std::string_view s) {
  return !s.empty() && AllOf(s, [](char c) { return c >= '0' && c <= '9'; });
}

// "" when the file can be opened for reading, else why not.
std::string Unreadable(const std::string& path) {
  if (path.empty()) return "not set";
  FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return "cannot read " + path + ": " + std::strerror(errno);
  std::fclose(f);
  return {};
}

Result<DockerEndpoint> ParseTcp(std::string_view url, std::string_view rest,
                                DockerEndpoint endpoint) {
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  if (rest.find('/') != std::string_view::npos) {
    return Invalid("docker endpoint " + std::string(url) + " has a path; use tcp://host:port");
  }
  std::string_view host, port;
  if (!rest.empty() && rest[0] == '[') {
    size_t close = rest.find(']');
    if (close == std::string_view::npos || close + 1 >= rest.size() || rest[close + 1] != ':') {
      return Invalid("docker endpoint " + std::string(url) + " needs tcp://[ipv6]:port");
    }
    host = rest.substr(1, close - 1);
    port = rest.substr(close + 2);
    if (host.empty() || !AllOf(host, [](char c) {
          return std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.';
        })) {
      return Invalid("docker endpoint " + std::string(url) + " has a bad IPv6 address");
    }
  } else {
    size_t colon = rest.rfind(':');
    if (colon == std::string_view::npos) {
      return Invalid("docker endpoint " + std::string(url) +
                     " needs a port (Docker's TLS port is 2376): tcp://host:port");
    }
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
    if (host.empty() || !AllOf(host, IsHostChar)) {
      return Invalid("docker endpoint " + std::string(url) + " has no valid host name");
    }
  }
  if (!IsDigits(port) || port.size() > 5 || std::stoi(std::string(port)) == 0 ||
      std::stoi(std::string(port)) > 65535) {
    return Invalid("docker endpoint " + std::string(url) + " has a bad port \"" +
                   std::string(port) + "\" (1-65535)");
  }
  std::vector<std::string> problems;
  for (const auto& [name, path] :
       {std::pair<const char*, const std::string*>{"ca_file", &endpoint.ca_file},
        {"cert_file", &endpoint.cert_file},
        {"key_file", &endpoint.key_file}}) {
    std::string why = Unreadable(*path);
    if (!why.empty()) problems.push_back(std::string(name) + " " + why);
  }
  if (!problems.empty()) {
    std::string message = "docker endpoint " + std::string(url) +
                          " needs TLS client certificates (ca_file, cert_file, key_file): ";
    for (size_t i = 0; i < problems.size(); ++i) message += (i ? "; " : "") + problems[i];
    return Invalid(std::move(message));
  }
  endpoint.url = "tcp://" + std::string(rest);
  return endpoint;
}

}  // namespace

Result<DockerEndpoint> ParseDockerEndpoint(std::string_view url, std::string_view ca_file,
                                           std::string_view cert_file, std::string_view key_file) {
  DockerEndpoint endpoint{std::string(Trim(url)), std::string(ca_file), std::string(cert_file),
                          std::string(key_file)};
  std::string_view u = endpoint.url;
  bool has_tls = !ca_file.empty() || !cert_file.empty() || !key_file.empty();
  if (u.empty()) return Invalid("no docker endpoint given (e.g. unix:///var/run/docker.sock)");
  if (u.rfind("unix://", 0) == 0) {
    std::string_view path = u.substr(7);
    if (path.empty() || path[0] != '/') {
      return Invalid("docker endpoint " + endpoint.url +
                     " needs an absolute socket path: unix:///path/to/docker.sock");
    }
    if (path.size() > kMaxSocketPath) {
      return Invalid("docker endpoint " + endpoint.url + ": a socket path is at most " +
                     std::to_string(kMaxSocketPath) + " bytes");
    }
    if (has_tls) {
      return Invalid("docker endpoint " + endpoint.url +
                     " is a unix socket: ca_file, cert_file and key_file apply to tcp:// only");
    }
    return endpoint;
  }
  if (u.rfind("tcp://", 0) == 0) return ParseTcp(url, u.substr(6), std::move(endpoint));
  if (u[0] == '/') {
    return Invalid("docker endpoint " + endpoint.url + " has no scheme; did you mean unix://" +
                   endpoint.url + "?");
  }
  if (u.rfind("http://", 0) == 0 || u.rfind("https://", 0) == 0) {
    return Invalid("docker endpoint " + endpoint.url +
                   ": use tcp://host:port (labelrun always speaks TLS with client "
                   "certificates to a remote daemon)");
  }
  return Invalid("docker endpoint " + endpoint.url +
                 " is not supported: use unix:///path/to/docker.sock or tcp://host:port");
}

int CompareApiVersions(std::string_view a, std::string_view b) {
  std::vector<std::string_view> pa = Split(a, '.'), pb = Split(b, '.');
  for (size_t i = 0; i < std::max(pa.size(), pb.size()); ++i) {
    auto num = [](const std::vector<std::string_view>& parts, size_t i) -> long {
      if (i >= parts.size() || !IsDigits(parts[i]) || parts[i].size() > 9) return 0;
      return std::stol(std::string(parts[i]));
    };
    long x = num(pa, i), y = num(pb, i);
    if (x != y) return x < y ? -1 : 1;
  }
  return 0;
}

Result<ImageReference> SplitImageReference(std::string_view image) {
  auto bad = [&](std::string why) {
    return Invalid("image \"" + std::string(image.substr(0, 200)) + "\": " + why);
  };
  if (image.empty()) return bad("empty");
  std::string_view name = image;
  std::string tag;
  if (size_t at = image.find('@'); at != std::string_view::npos) {
    name = image.substr(0, at);
    std::string_view digest = image.substr(at + 1);
    size_t colon = digest.find(':');
    if (colon == std::string_view::npos || colon == 0 || colon + 1 == digest.size() ||
        !AllOf(digest.substr(0, colon), IsTagChar) || !AllOf(digest.substr(colon + 1), [](char c) {
          return std::isxdigit(static_cast<unsigned char>(c)) != 0;
        })) {
      return bad("the digest is not algorithm:hex");
    }
    tag = std::string(digest);
    // "name:tag@digest": the digest decides; the tag is dropped.
    if (size_t colon2 = name.rfind(':');
        colon2 != std::string_view::npos && name.find('/', colon2) == std::string_view::npos) {
      name = name.substr(0, colon2);
    }
  } else if (size_t colon = image.rfind(':');
             colon != std::string_view::npos && image.find('/', colon) == std::string_view::npos) {
    name = image.substr(0, colon);
    tag = std::string(image.substr(colon + 1));
    if (tag.empty() || tag.size() > 128 || !AllOf(tag, IsTagChar)) {
      return bad("the tag must match [A-Za-z0-9_.-]{1,128}");
    }
  } else {
    tag = "latest";
  }
  if (name.empty() || !AllOf(name, IsNameChar) || name.front() == '/' || name.back() == '/' ||
      name.find("//") != std::string_view::npos) {
    return bad("not a repository name");
  }
  return ImageReference{std::string(name), std::move(tag)};
}

}  // namespace labelrun::runtime
