// A local LLM provider for the end-to-end tests: speaks the OpenAI chat completions and the
// Anthropic messages wire formats on 127.0.0.1, and answers like a well-behaved model would for
// the sample chain — a research brief, a report that matches the report schema, and the quality
// reviewer's scores with rationales.
import http from "node:http";

const REPORT = {
  title: "Refunds, explained",
  summary: "A short refund window keeps trust.",
  sections: [
    { heading: "Market", body: "14 or 30 days." },
    { heading: "Proration", body: "On downgrades." },
    { heading: "Rules", body: "EU withdrawal right." },
  ],
  sources: [{ title: "Stripe", url: "https://docs.stripe.com/billing" }],
};

function answer(schema, prompt) {
  if (schema?.properties?.completeness) {
    // A terse report (the PM's review test) is scored low on completeness and accuracy.
    const terse = prompt.includes("TERSE");
    const scores = {};
    for (const c of Object.keys(schema.properties)) {
      const score = c === "formatting" ? 4 : terse && c === "completeness" ? 1 : terse && c === "accuracy" ? 3 : 5;
      const why = score === 5 ? "fully met" : score === 4 ? "minor layout nits" : score === 1 ? "too terse to be complete" : "figures unchecked";
      scores[c] = { score, rationale: `${c}: ${why} for this input` };
    }
    return scores;
  }
  if (schema) return prompt.includes("tersely") ? { ...REPORT, summary: "TERSE: refund." } : REPORT;
  return `Brief: refunds are common within 14 days (${prompt.length} chars of prompt).`;
}

export function startProviders() {
  // Tests slow the answers down to catch a run in flight.
  const state = { delayMs: 0, requests: 0, failTemperature: null };
  const server = http.createServer((req, res) => {
    state.requests += 1;
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      let request;
      try {
        request = JSON.parse(body);
      } catch {
        res.writeHead(400).end('{"error":{"message":"bad json"}}');
        return;
      }
      const prompt = String(request.messages?.[0]?.content ?? "");
      const anthropic = req.url.endsWith("/messages");
      const schema = anthropic ? request.tools?.[0]?.input_schema : request.response_format?.json_schema?.schema;
      // A version whose calls the provider refuses (the rollout test's bad candidate).
      if (state.failTemperature !== null && request.temperature === state.failTemperature) {
        res.writeHead(400, { "content-type": "application/json" }).end('{"error":{"type":"invalid_request_error","message":"refused for the test"}}');
        return;
      }
      const out = answer(schema, prompt);
      setTimeout(() => respond(out), state.delayMs);
    function respond(out) {
      const reply = anthropic
        ? {
            id: "msg_e2e",
            type: "message",
            role: "assistant",
            model: request.model,
            content:
              typeof out === "string"
                ? [{ type: "text", text: out }]
                : [{ type: "tool_use", id: "toolu_e2e", name: "output", input: out }],
            stop_reason: typeof out === "string" ? "end_turn" : "tool_use",
            usage: { input_tokens: 300, output_tokens: 200 },
          }
        : {
            id: "chatcmpl-e2e",
            object: "chat.completion",
            created: 0,
            model: request.model,
            choices: [
              {
                index: 0,
                message: { role: "assistant", content: typeof out === "string" ? out : JSON.stringify(out) },
                finish_reason: "stop",
              },
            ],
            usage: { prompt_tokens: 300, completion_tokens: 200, total_tokens: 500 },
          };
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(reply));
    }
    });
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => resolve({ server, state, url: `http://127.0.0.1:${server.address().port}/v1` }));
  });
}
