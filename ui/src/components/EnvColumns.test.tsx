import { render, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { EnvColumns } from "./EnvColumns";

describe("EnvColumns", () => {
  it("shows each env's resolved models and timeouts, problems and last run", () => {
    render(
      <EnvColumns
        envs={[
          {
            env: "dev",
            agents: [{ agent: "writer", model: "gpt-5.4-mini", provider: "openai", timeout_secs: 300 }],
            problems: [],
            last_run: { id: "r1", status: "completed", cost: null, started_at: "2026-01-01T00:00:00Z" },
            deployed_version: "v1",
            promotion: null,
            gates: [],
            gates_of: null,
          },
          {
            env: "staging",
            agents: [],
            problems: ["config/staging.env: `${X}` has no value"],
            last_run: null,
            deployed_version: null,
            promotion: { id: "p1", version: "v2", state: "gates_failed" },
            gates: [
              { gate: "smoke", status: "passed", summary: "completes" },
              { gate: "config", status: "failed", summary: "SLACK_WEBHOOK is not set" },
            ],
            gates_of: "v1",
          },
        ]}
      />,
    );
    const dev = screen.getByTestId("env-column-dev");
    expect(dev.textContent).toContain("gpt-5.4-mini");
    expect(dev.textContent).toContain("5 m");
    expect(dev.textContent).toContain("unknown");
    const staging = screen.getByTestId("env-column-staging");
    expect(staging.textContent).toContain("has no value");
    expect(staging.textContent).toContain("no runs yet");
    expect(screen.getByTestId("deployed-version-dev").textContent).toBe("v1");
    expect(screen.getByTestId("deployed-version-staging").textContent).toBe("—");
    expect(staging.textContent).toContain("gates failed");
    expect(screen.getByTestId("env-gates-dev").textContent).toContain("gates not run");
    const gates = screen.getByTestId("env-gates-staging");
    expect(gates.textContent).toContain("gates of v1 (files changed since)");
    expect(gates.querySelector(".gate-chip-failed")?.getAttribute("title")).toBe("config: failed — SLACK_WEBHOOK is not set");
  });
});
