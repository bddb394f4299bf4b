#pragma once
// A tar stream written to a file up to a size cap, cut at an entry boundary:
// Docker's GET /containers/{id}/archive sends a job's outputs as one plain tar
// of any size; what lands on labelrun's disk is at most `max_bytes` and still
// a valid archive. Private to runtime/.
//
// The stream goes to the file as it arrives, up to the cap less the two end
// blocks; Finish then reads the file back with libarchive (tar_io.hpp) and
// cuts it after the last whole entry.

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "labelrun/core/result.hpp"

namespace labelrun::runtime::tar {

class CappedTarSink {
 public:
  // REQUIRES: `out` is open for reading and writing ("w+b"), empty, and stays
  // open while Write and Finish are called.
  CappedTarSink(std::FILE* out, uint64_t max_bytes);

  // Takes the next bytes of the stream. False when no more are wanted: the cap
  // was reached (stopped() says so) or writing failed. Zero bytes past the
  // cap (the end blocks, a record's padding) are taken and dropped.
  bool Write(std::string_view data);
  // Ends the archive (two zero blocks) after its last whole entry. Kept
  // entries are whole; an entry cut short by the stream's own end is an error.
  Status Finish();

  // Write refused more of the stream because of the cap.
  bool stopped() const { return stopped_; }
  // After Finish: entries were left out.
  bool truncated() const { return truncated_; }
  // Why, for people: the first entry left out, its size, what was kept.
  const std::string& truncation() const { return truncation_; }
  uint64_t written() const { return written_; }

 private:
  std::FILE* out_;
  const uint64_t max_bytes_;
  const uint64_t room_;  // stream bytes that may land on disk
  uint64_t taken_ = 0;   // of them, written
  uint64_t dropped_ = 0;
  bool failed_ = false;
  bool stopped_ = false;
  bool truncated_ = false;
  std::string truncation_;
  uint64_t written_ = 0;
};

}  // namespace labelrun::runtime::tar
