import { describe, expect, it } from "vitest";
import { hostAndDb } from "./HistoryBadge";

describe("hostAndDb", () => {
  it("names the server and database of a PostgreSQL URL, never its user or password", () => {
    expect(hostAndDb("postgres://dana:***@db.internal:5432/chainlift")).toBe("db.internal:5432/chainlift");
    expect(hostAndDb("postgresql://db.internal/team")).toBe("db.internal/team");
  });
  it("shows anything else as it is", () => {
    expect(hostAndDb("not a url")).toBe("not a url");
  });
});
