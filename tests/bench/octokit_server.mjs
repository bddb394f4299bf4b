// Comparison server for webhook_bench.sh: the smallest @octokit/webhooks
// receiver that verifies and dispatches issues.labeled, as a Node user would
// write it. Not part of labelrun.
//   WEBHOOK_SECRET=... PORT=8080 node octokit_server.mjs
import http from "node:http";
import { Webhooks, createNodeMiddleware } from "@octokit/webhooks";

const secret = process.env.WEBHOOK_SECRET;
if (!secret) {
  console.error("octokit_server: WEBHOOK_SECRET is not set");
  process.exit(2);
}
const port = Number(process.env.PORT ?? 8080);

const webhooks = new Webhooks({ secret });
webhooks.on("issues.labeled", () => {});
webhooks.onError((err) => console.error("octokit_server:", err.message));

const middleware = createNodeMiddleware(webhooks, { path: "/webhook" });
// The middleware calls next() for other paths; answer those with 404.
const server = http.createServer((req, res) =>
  middleware(req, res, () => res.writeHead(404).end()),
);
server.listen(port, "127.0.0.1", () => {
  console.error(`octokit_server: listening on 127.0.0.1:${port}`);
});
for (const sig of ["SIGTERM", "SIGINT"]) {
  process.on(sig, () => server.close(() => process.exit(0)));
}
