import { describe, expect, it } from "vitest";
import { intlLocale, makeFormat } from "./format";

describe("formats", () => {
  const de = makeFormat("de", ["de-DE"]);
  const en = makeFormat("en", ["en-GB"]);

  it("write numbers, percentages and money the reader's way", () => {
    expect(de.integer(1234567)).toBe("1.234.567");
    expect(en.integer(1234567)).toBe("1,234,567");
    expect(de.percent(0.1667)).toBe("16,7\u00a0%");
    expect(en.percent(0.1667)).toBe("16.7%");
    expect(de.money(129.9, "EUR")).toBe("129,90\u00a0€");
    expect(en.money(129.9, "EUR")).toBe("€129.90");
    expect(de.change(0.042)).toBe("+4,2\u00a0%");
  });

  it("write durations in words, never ISO 8601", () => {
    expect(en.duration("PT1H")).toBe("1 hour");
    expect(de.duration("PT1H")).toBe("1 Stunde");
    expect(en.duration("P7D")).toBe("7 days");
    expect(de.duration("P1DT12H")).toBe("1 Tag, 12 Stunden");
    expect(en.seconds(93_600)).toBe("1 day, 2 hours");
    expect(en.duration("soon")).toBe("soon");
  });

  it("keep a calendar day on its day whatever the reader's zone", () => {
    expect(de.day("2026-01-05")).toBe("05.01.2026");
    expect(en.day("2026-01-05")).toBe("5 Jan 2026");
    expect(en.dateTime("2026-01-05T08:30:00Z", "Europe/Berlin")).toBe("5 Jan 2026, 09:30");
  });

  it("show a value that is no date as it is", () => {
    expect(en.day("2026-13-01")).toBe("2026-13-01");
    expect(en.dateTime("soon")).toBe("soon");
  });

  it("use the browser's own variant of a language", () => {
    expect(intlLocale("en", ["en-US", "de-DE"])).toBe("en-US");
    expect(intlLocale("de", ["en-US"])).toBe("de-DE");
    expect(intlLocale("pseudo", [])).toBe("en-GB");
  });

  it("mark formatted words in the pseudo language", () => {
    const pseudo = makeFormat("pseudo", []);
    expect(pseudo.duration("PT1H")).toBe("⟦1 hour⟧");
    expect(pseudo.integer(1234)).toBe("1,234");
  });
});
