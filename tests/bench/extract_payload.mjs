// Writes the first issues.labeled example of @octokit/webhooks-examples
// (api.github.com), as JSON.stringify gives it, to the file in argv[2].
import fs from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const index = require("@octokit/webhooks-examples/api.github.com/index.json");
const issues = index.find((e) => e.name === "issues");
const example = issues?.examples.find((x) => x.action === "labeled");
if (!example) {
  console.error("extract_payload: no issues.labeled example found");
  process.exit(1);
}
const text = JSON.stringify(example);
fs.writeFileSync(process.argv[2], text);
console.log(Buffer.byteLength(text));
