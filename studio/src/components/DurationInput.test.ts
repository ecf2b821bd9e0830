import { describe, expect, it } from "vitest";
import { joinDuration, splitDuration } from "./DurationInput";

describe("durations as an amount and a unit", () => {
  it("reads the documents' ISO 8601 texts", () => {
    expect(splitDuration("PT1H")).toEqual({ amount: 1, unit: "hour" });
    expect(splitDuration("P1D")).toEqual({ amount: 1, unit: "day" });
    expect(splitDuration("P2W")).toEqual({ amount: 2, unit: "week" });
    expect(splitDuration("P1DT12H")).toEqual({ amount: 36, unit: "hour" });
    expect(splitDuration("PT90M")).toEqual({ amount: 90, unit: "minute" });
    expect(splitDuration("P1Y")).toEqual({ amount: 12, unit: "month" });
    expect(splitDuration("nonsense")).toBeNull();
    expect(splitDuration("")).toBeNull();
  });

  it("writes them back", () => {
    expect(joinDuration(1, "hour")).toBe("PT1H");
    expect(joinDuration(30, "minute")).toBe("PT30M");
    expect(joinDuration(1, "day")).toBe("P1D");
    expect(joinDuration(3, "month")).toBe("P3M");
  });
});
