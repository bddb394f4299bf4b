// Writes a seed corpus for delivery_fuzz from @octokit/webhooks-examples:
// one file per example, first byte = index of its event in delivery_fuzz.cpp.
// Usage: node tests/fuzz/make_corpus.js OUT_DIR
const fs = require("fs");
const path = require("path");
const events = ["issues", "issue_comment", "pull_request", "installation",
                "installation_repositories", "ping", "star", "push"];
const out = process.argv[2];
const examples = require(path.join(__dirname, "..", "support", "node_modules",
                                   "@octokit", "webhooks-examples", "api.github.com", "index.json"));
fs.mkdirSync(out, { recursive: true });
let n = 0;
for (const group of examples) {
  const index = events.indexOf(group.name);
  if (index < 0) continue;
  for (const example of group.examples) {
    const body = Buffer.from(JSON.stringify(example));
    fs.writeFileSync(path.join(out, `${group.name}-${n++}`), Buffer.concat([Buffer.from([index]), body]));
  }
}
console.log(`wrote ${n} seeds to ${out}`);
