// A duration as a person enters it: an amount and a unit ("1" "hour"), stored as the ISO 8601
// text the documents use (PT1H). A person never sees or types PT1H.
import { Group, NumberInput, Select, Stack, Text } from "@mantine/core";
import { useId } from "react";
import { useTranslation } from "react-i18next";
import { parseDuration } from "@/i18n/duration";

export type DurationUnit = "minute" | "hour" | "day" | "week" | "month";
const UNITS: DurationUnit[] = ["minute", "hour", "day", "week", "month"];
const MINUTES: Record<string, number> = { minute: 1, hour: 60, day: 1440, week: 10080 };

/** An ISO 8601 duration as an amount in one unit (P1DT12H -> 36 hours); null if not one. */
export function splitDuration(iso: string | null | undefined): {
  amount: number;
  unit: DurationUnit;
} | null {
  if (!iso) return null;
  const parts = parseDuration(iso);
  if (!parts || parts.length === 0) return null;
  const [first] = parts;
  if (parts.length === 1 && first) {
    if (first.unit === "year") return { amount: first.value * 12, unit: "month" };
    if (first.unit === "second") return { amount: Math.ceil(first.value / 60), unit: "minute" };
    return { amount: first.value, unit: first.unit };
  }
  if (parts.some((p) => p.unit === "year" || p.unit === "month")) return null;
  const minutes = parts.reduce(
    (sum, p) => sum + p.value * (p.unit === "second" ? 1 / 60 : (MINUTES[p.unit] ?? 0)),
    0,
  );
  for (const unit of ["week", "day", "hour"] as const) {
    if (minutes % (MINUTES[unit] ?? 1) === 0)
      return { amount: minutes / (MINUTES[unit] ?? 1), unit };
  }
  return { amount: Math.round(minutes), unit: "minute" };
}

/** The ISO 8601 text of an amount in a unit (36 hours -> PT36H). */
export function joinDuration(amount: number, unit: DurationUnit): string {
  switch (unit) {
    case "minute":
      return `PT${amount}M`;
    case "hour":
      return `PT${amount}H`;
    case "day":
      return `P${amount}D`;
    case "week":
      return `P${amount}W`;
    case "month":
      return `P${amount}M`;
  }
}

interface DurationInputProps {
  label: string;
  value: string | null | undefined;
  onChange: (iso: string | null) => void;
  error?: string | undefined;
  description?: string;
  /** The unit offered first when nothing is entered yet. */
  defaultUnit?: DurationUnit;
  disabled?: boolean;
  "data-field"?: string;
}

export function DurationInput({
  label,
  value,
  onChange,
  error,
  description,
  defaultUnit = "hour",
  disabled,
  ...rest
}: DurationInputProps) {
  const { t } = useTranslation();
  const id = useId();
  const parsed = splitDuration(value);
  const amount = parsed?.amount;
  const unit = parsed?.unit ?? defaultUnit;
  const count = amount ?? 2;
  const hintId = `${id}-hint`;
  return (
    <Stack gap={4} data-field={rest["data-field"]}>
      <Group gap="xs" align="flex-start" wrap="nowrap">
        <NumberInput
          id={id}
          label={label}
          aria-describedby={description ? hintId : undefined}
          value={amount ?? ""}
          min={1}
          step={1}
          allowDecimal={false}
          allowNegative={false}
          disabled={disabled}
          error={error}
          onChange={(next) => {
            const n = typeof next === "number" ? next : Number.parseInt(String(next), 10);
            onChange(Number.isFinite(n) && n > 0 ? joinDuration(n, unit) : null);
          }}
          style={{ flex: 1 }}
        />
        <Select
          label={t("duration.unitLabel")}
          aria-label={t("duration.unitOf", { label })}
          value={unit}
          allowDeselect={false}
          disabled={disabled}
          data={UNITS.map((u) => ({ value: u, label: t(`duration.unit.${u}`, { count }) }))}
          onChange={(next) => {
            if (next && amount) onChange(joinDuration(amount, next as DurationUnit));
            else if (next && !amount) onChange(joinDuration(1, next as DurationUnit));
          }}
          w={130}
          // the unit's label sits above like the amount's, so both line up
          styles={{ label: { visibility: "hidden" } }}
        />
      </Group>
      {description && (
        <Text size="xs" c="dimmed" id={hintId}>
          {description}
        </Text>
      )}
    </Stack>
  );
}
