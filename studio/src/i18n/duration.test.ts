import { describe, expect, it } from "vitest";
import { parseDuration, secondsToParts } from "./duration";

describe("parseDuration", () => {
  it("reads the durations journey documents use", () => {
    expect(parseDuration("PT1H")).toEqual([{ unit: "hour", value: 1 }]);
    expect(parseDuration("P7D")).toEqual([{ unit: "day", value: 7 }]);
    expect(parseDuration("P1DT12H")).toEqual([
      { unit: "day", value: 1 },
      { unit: "hour", value: 12 },
    ]);
    expect(parseDuration("P2W")).toEqual([{ unit: "week", value: 2 }]);
    expect(parseDuration("PT30M")).toEqual([{ unit: "minute", value: 30 }]);
    expect(parseDuration("P1Y2M")).toEqual([
      { unit: "year", value: 1 },
      { unit: "month", value: 2 },
    ]);
    expect(parseDuration("PT1.5H")).toEqual([{ unit: "hour", value: 1.5 }]);
  });

  it("refuses what is not a duration", () => {
    for (const text of ["", "P", "PT", "1H", "P1H", "tomorrow", "P1DT"]) {
      expect(parseDuration(text)).toBeNull();
    }
  });
});

describe("secondsToParts", () => {
  it("keeps the two largest parts", () => {
    expect(secondsToParts(93_600)).toEqual([
      { unit: "day", value: 1 },
      { unit: "hour", value: 2 },
    ]);
    expect(secondsToParts(3_600)).toEqual([{ unit: "hour", value: 1 }]);
    expect(secondsToParts(90)).toEqual([
      { unit: "minute", value: 1 },
      { unit: "second", value: 30 },
    ]);
    expect(secondsToParts(0)).toEqual([{ unit: "second", value: 0 }]);
  });

  it("does not skip a unit: 1 day and a few minutes is 1 day", () => {
    expect(secondsToParts(86_400 + 120)).toEqual([{ unit: "day", value: 1 }]);
  });
});
