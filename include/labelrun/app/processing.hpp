#pragma once
// What the inbox processor does with each stored delivery: decode it, turn it
// into a rules::Event, and decide. Until the GitHub client and the dispatcher
// are wired in, decisions are logged, not acted on.

#include <memory>
#include <mutex>
#include <optional>

#include "labelrun/app/rules_cli.hpp"
#include "labelrun/core/result.hpp"
#include "labelrun/rules/decision.hpp"
#include "labelrun/store/inbox.hpp"
#include "labelrun/webhook/event.hpp"

namespace labelrun::app {

// The rules::Event a typed delivery means, or nullopt for deliveries that decide
// nothing (installation changes, pull request events without labels...).
// `permission` is the sender's repository permission as GitHub reported it.
std::optional<rules::Event> ToRulesEvent(const webhook::Event& event, rules::Permission permission);

// Thread-safe: SetRules may run on an I/O thread (SIGHUP) while the processor
// thread calls Process.
class DeliveryProcessor {
 public:
  explicit DeliveryProcessor(std::shared_ptr<const ConfigRules> rules);

  void SetRules(std::shared_ptr<const ConfigRules> rules);
  // The inbox handler: Ok marks the delivery done.
  Status Process(const store::InboxRow& row);

 private:
  std::shared_ptr<const ConfigRules> rules() const;

  mutable std::mutex mu_;
  std::shared_ptr<const ConfigRules> rules_;
};

}  // namespace labelrun::app
