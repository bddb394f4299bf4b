#pragma once
// Checks of the files that hold secrets and of the webhook secrets themselves,
// run by `check-config` and at `serve` start.

#include <string>
#include <vector>

#include "labelrun/config/config.hpp"

namespace labelrun::config {

// A warning for every secret, token or key file of `cfg` (webhook secrets and
// credentials, GitHub token, API and dashboard tokens, TLS and Docker TLS keys)
// that its group or others may read; an error for the GitHub App's private key,
// which is refused as ssh refuses such a key. Each names the file, its mode and
// the chmod to run. Files that cannot be inspected are left to the readers.
std::vector<Problem> CheckSecretFileModes(const Config& cfg, const SecretEnv& env);

// A warning for every webhook secret shorter than 16 characters (never the
// secret itself).
std::vector<Problem> CheckWebhookSecretStrength(const std::vector<std::string>& secrets);

}  // namespace labelrun::config
