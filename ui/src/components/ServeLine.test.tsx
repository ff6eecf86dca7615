import { cleanup, render, screen } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";
import type { ServeStatusView } from "../bindings/ServeStatusView";
import { ServeLine } from "./ServeLine";

const holder: ServeStatusView = {
  env: "production",
  host: "box-1",
  pid: 4242,
  listen: "127.0.0.1:7420",
  since: "2026-12-02T09:00:00Z",
  renewed_at: "2026-12-02T10:00:00Z",
  expires_at: "2026-12-02T10:00:10Z",
  live: true,
  requests_per_min: 12,
  in_flight: 3,
  last_error: "content-pipeline v2: run 01 failed: provider answered 500",
  last_error_at: "2026-12-02T09:59:00Z",
};

afterEach(cleanup);

describe("ServeLine", () => {
  it("shows the holder, where it listens, its figures and its last error", () => {
    render(<ServeLine env="production" status={holder} />);
    const line = screen.getByTestId("serve-status-production");
    expect(line.textContent).toContain("served");
    expect(line.textContent).toContain("box-1 (pid 4242)");
    expect(line.textContent).toContain("127.0.0.1:7420");
    expect(screen.getByTestId("serve-rpm-production").textContent).toBe("12 req/min");
    expect(screen.getByTestId("serve-in-flight-production").textContent).toBe("3 in flight");
    expect(screen.getByTestId("serve-error-production").textContent).toContain("provider answered 500");
  });

  it("says when a holder stopped renewing its lease, and how to serve an env nobody serves", () => {
    const { rerender } = render(<ServeLine env="production" status={{ ...holder, live: false }} />);
    expect(screen.getByTestId("serve-status-production").textContent).toContain("stopped renewing its lease");
    expect(screen.queryByTestId("serve-rpm-production")).toBeNull();
    rerender(<ServeLine env="production" status={undefined} />);
    expect(screen.getByTestId("serve-status-production").textContent).toContain("chainlift serve --env production");
  });
});
