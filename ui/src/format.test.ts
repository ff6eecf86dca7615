import { describe, expect, it } from "vitest";
import { duration, money, readable, seconds } from "./format";

describe("money", () => {
  it("shows unknown for a null cost, never $0", () => {
    expect(money(null)).toBe("unknown");
    expect(money(undefined)).toBe("unknown");
  });
  it("keeps small LLM costs readable", () => {
    expect(money(0.0015495)).toBe("$0.0015");
    expect(money(1.234)).toBe("$1.23");
    expect(money(0)).toBe("$0.00");
  });
});

describe("duration and seconds", () => {
  it("formats", () => {
    expect(duration(120)).toBe("120 ms");
    expect(duration(2500)).toBe("2.5 s");
    expect(duration(null)).toBe("–");
    expect(seconds(300)).toBe("5 m");
    expect(seconds(45)).toBe("45 s");
  });
});

describe("readable", () => {
  it("shows a text payload as text and JSON as it is", () => {
    expect(readable('"Brief:\\n- one"')).toBe("Brief:\n- one");
    expect(readable('{\n  "a": 1\n}')).toBe('{\n  "a": 1\n}');
    expect(readable("not json")).toBe("not json");
  });
});
