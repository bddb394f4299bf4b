#pragma once
// A tar stream written to a file up to a size cap, cut at an entry boundary:
// Docker's GET /containers/{id}/archive sends a job's outputs as one plain tar
// of any size; what lands on labelrun's disk is at most `max_bytes` and still
// a valid archive. Private to runtime/.

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "labelrun/core/result.hpp"

namespace labelrun::runtime::tar {

class CappedTarSink {
 public:
  // REQUIRES: `out` stays open while Write and Finish are called.
  CappedTarSink(std::FILE* out, uint64_t max_bytes) : out_(out), max_bytes_(max_bytes) {}

  // Takes the next bytes of the stream. False when no more are wanted: the cap
  // was reached (truncated() says so) or writing failed. What follows the
  // archive's end blocks is taken and dropped.
  bool Write(std::string_view data);
  // Ends the archive (two zero blocks). Kept entries are whole; an entry cut
  // short by the stream's own end is an error.
  Status Finish();

  bool truncated() const { return truncated_; }
  // Why, for people: the first entry left out, its size, what was kept.
  const std::string& truncation() const { return truncation_; }
  uint64_t written() const { return written_; }

 private:
  bool OnHeader();
  bool Emit(std::string_view data);

  std::FILE* out_;
  const uint64_t max_bytes_;
  std::string header_;         // the header block being received
  std::string pending_;        // pax / GNU long-name entries, kept with the entry they describe
  uint64_t data_left_ = 0;     // data + padding of the current entry
  bool data_pending_ = false;  // the current entry's data goes to pending_
  bool ended_ = false;
  bool failed_ = false;
  bool truncated_ = false;
  std::string truncation_;
  uint64_t written_ = 0;
  uint64_t files_ = 0;
};

}  // namespace labelrun::runtime::tar
