// Small editors the canvas's forms share: key/value pairs (data, traits, payloads) and
// property filters ("price greater than 0").
import { ActionIcon, Button, Group, Stack, Text, TextInput } from "@mantine/core";
import { IconPlus, IconTrash } from "@tabler/icons-react";
import { useTranslation } from "react-i18next";
import { ComparisonInput } from "@/components/rules/RuleBuilder";
import { parseValue, valueText } from "@/components/rules/values";

interface KeyValueProps {
  label: string;
  value: Record<string, unknown> | undefined;
  onChange: (value: Record<string, unknown>) => void;
  keyLabel: string;
  error?: string | undefined;
  hint?: string;
}

/** Named values ("discount_percent" = 10), typed as a person means them. */
export function KeyValueEditor({ label, value, onChange, keyLabel, error, hint }: KeyValueProps) {
  const { t } = useTranslation();
  const entries = Object.entries(value ?? {});
  const write = (next: [string, unknown][]) => onChange(Object.fromEntries(next));
  return (
    <Stack gap={6} data-field={label}>
      <Text size="sm" fw={500}>
        {label}
      </Text>
      {hint && (
        <Text size="xs" c="dimmed">
          {hint}
        </Text>
      )}
      {entries.map(([key, item], index) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: rows of an editable list have no identity but their place
        <Group key={index} gap="xs" wrap="nowrap" align="flex-start">
          <TextInput
            aria-label={t("canvas.fields.keyOf", { label, n: index + 1, what: keyLabel })}
            placeholder={keyLabel}
            value={key}
            onChange={(event) =>
              write(entries.map((e, i) => (i === index ? [event.currentTarget.value, e[1]] : e)))
            }
            style={{ flex: 1 }}
          />
          <TextInput
            aria-label={t("canvas.fields.valueOf", { label, n: index + 1 })}
            placeholder={t("ruleBuilder.value")}
            value={valueText(item)}
            onChange={(event) =>
              write(
                entries.map((e, i) =>
                  i === index ? [e[0], parseValue(event.currentTarget.value, "eq")] : e,
                ),
              )
            }
            style={{ flex: 1 }}
          />
          <ActionIcon
            variant="subtle"
            color="gray"
            aria-label={t("canvas.fields.removeRow", { label, n: index + 1 })}
            onClick={() => write(entries.filter((_, i) => i !== index))}
            mt={4}
          >
            <IconTrash size={14} aria-hidden="true" />
          </ActionIcon>
        </Group>
      ))}
      {error && (
        <Text size="xs" c="red.8" role="alert">
          {error}
        </Text>
      )}
      <Button
        variant="subtle"
        size="xs"
        leftSection={<IconPlus size={14} aria-hidden="true" />}
        onClick={() => write([...entries, [entries.some(([k]) => k === "") ? " " : "", ""]])}
        style={{ alignSelf: "flex-start" }}
      >
        {t("canvas.fields.addRow", { what: keyLabel })}
      </Button>
    </Stack>
  );
}

export interface PropertyFilter {
  property: string;
  op?: string;
  value?: unknown;
}

interface FiltersProps {
  label: string;
  value: PropertyFilter[] | undefined;
  onChange: (value: PropertyFilter[]) => void;
  error?: string | undefined;
}

/** Conditions on an event's properties ("price greater than 0"). */
export function PropertyFilters({ label, value, onChange, error }: FiltersProps) {
  const { t } = useTranslation();
  const filters = value ?? [];
  return (
    <Stack gap={6} data-field="where">
      <Text size="sm" fw={500}>
        {label}
      </Text>
      {filters.map((filter, index) => {
        const rowLabel = t("canvas.fields.filterOf", { label, n: index + 1 });
        const set = (patch: Partial<PropertyFilter>) =>
          onChange(filters.map((f, i) => (i === index ? { ...f, ...patch } : f)));
        return (
          // biome-ignore lint/suspicious/noArrayIndexKey: rows of an editable list have no identity but their place
          <Stack key={index} gap={4}>
            <Group gap="xs" wrap="nowrap">
              <TextInput
                aria-label={t("canvas.fields.propertyOf", { label: rowLabel })}
                placeholder={t("canvas.fields.property")}
                value={filter.property}
                onChange={(event) => set({ property: event.currentTarget.value })}
                style={{ flex: 1 }}
              />
              <ActionIcon
                variant="subtle"
                color="gray"
                aria-label={t("canvas.fields.removeRow", { label, n: index + 1 })}
                onClick={() => onChange(filters.filter((_, i) => i !== index))}
              >
                <IconTrash size={14} aria-hidden="true" />
              </ActionIcon>
            </Group>
            <ComparisonInput
              label={rowLabel}
              op={filter.op}
              value={filter.value}
              onChange={(op, next) => set({ op, value: next })}
            />
          </Stack>
        );
      })}
      {error && (
        <Text size="xs" c="red.8" role="alert">
          {error}
        </Text>
      )}
      <Button
        variant="subtle"
        size="xs"
        leftSection={<IconPlus size={14} aria-hidden="true" />}
        onClick={() => onChange([...filters, { property: "", op: "eq", value: "" }])}
        style={{ alignSelf: "flex-start" }}
      >
        {t("canvas.fields.addFilter")}
      </Button>
    </Stack>
  );
}
