// The side form of a step: its name, what it does (one form per node type, every field in
// words, templates/segments/offers/journeys from pickers), where each of its outputs leads,
// and its problems next to the field they concern, updated as the person types.
import {
  Button,
  Chip,
  Divider,
  Group,
  NumberInput,
  SegmentedControl,
  Select,
  Stack,
  Switch,
  Text,
  TextInput,
  Title,
} from "@mantine/core";
import { DateTimePicker, TimeInput } from "@mantine/dates";
import { IconCopy, IconFlag, IconPlus, IconTrash } from "@tabler/icons-react";
import dayjs from "dayjs";
import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import type { Schemas } from "@/api/client";
import { DurationInput } from "@/components/DurationInput";
import {
  EventPicker,
  JourneyPicker,
  OfferPicker,
  PlacementPicker,
  TemplatePicker,
} from "@/components/pickers";
import { RuleBuilder, type RuleDoc } from "@/components/rules/RuleBuilder";
import { channelName } from "../describe";
import { NodeIcon } from "../NodeIcon";
import {
  type Definition,
  type JourneyNode,
  NODE_ID,
  outputsOf,
  type Problem,
  targetOf,
} from "./document";
import { KeyValueEditor, type PropertyFilter, PropertyFilters } from "./fields";
import { fieldError, outputLabel, problemsOf, problemText } from "./problems";

const CHANNELS = ["email", "sms", "push", "in_app", "webhook", "agent_task"] as const;
const WEEKDAYS = [0, 1, 2, 3, 4, 5, 6];

interface NodeFormProps {
  doc: Definition;
  node: JourneyNode;
  problems: Problem[];
  editable: boolean;
  onChange: (node: JourneyNode) => void;
  onRename: (to: string) => void;
  onConnect: (output: string, target: string | null) => void;
  onDelete: () => void;
  onDuplicate: () => void;
  onMakeStart: () => void;
}

export function NodeForm(props: NodeFormProps) {
  const { t } = useTranslation();
  const { doc, node, problems, editable, onChange } = props;
  const err = (field: string) => fieldError(problems, node.id, field, t, doc);
  const own = problemsOf(problems, node.id);
  const general = own.filter((p) => p.field === undefined);
  const set = (patch: Record<string, unknown>) => onChange({ ...node, ...patch } as JourneyNode);
  return (
    <Stack gap="sm" data-node-form={node.id}>
      <Group gap="xs" wrap="nowrap">
        <NodeIcon type={node.type} />
        <Title order={2} fz="md">
          {t(`nodeType.${node.type}`)}
        </Title>
      </Group>
      <Text size="xs" c="dimmed">
        {t(`canvas.palette.help.${node.type}`)}
      </Text>
      {general.map((p) => (
        <Text key={`${p.code}-${p.message ?? ""}`} size="sm" c="red.8" role="alert">
          {problemText(p, t, doc)}
        </Text>
      ))}
      <fieldset disabled={!editable} style={{ border: 0, padding: 0, margin: 0, minWidth: 0 }}>
        <Stack gap="sm">
          <TextInput
            label={t("canvas.form.label")}
            description={t("canvas.form.labelHint")}
            value={node.label ?? ""}
            onChange={(event) => set({ label: event.currentTarget.value || undefined })}
            data-field="label"
          />
          <IdInput doc={doc} node={node} onRename={props.onRename} />
          <TypeFields node={node} doc={doc} set={set} err={err} />
        </Stack>
      </fieldset>
      <Connections {...props} />
      {editable && (
        <Group gap="xs">
          {doc.start !== node.id && (
            <Button
              size="xs"
              variant="light"
              leftSection={<IconFlag size={14} aria-hidden="true" />}
              onClick={props.onMakeStart}
            >
              {t("canvas.form.makeStart")}
            </Button>
          )}
          <Button
            size="xs"
            variant="light"
            leftSection={<IconCopy size={14} aria-hidden="true" />}
            onClick={props.onDuplicate}
          >
            {t("canvas.form.duplicate")}
          </Button>
          <Button
            size="xs"
            variant="light"
            color="red"
            leftSection={<IconTrash size={14} aria-hidden="true" />}
            onClick={props.onDelete}
          >
            {t("canvas.form.delete")}
          </Button>
        </Group>
      )}
    </Stack>
  );
}

/** The node's id: renamed when the field is left, if the new id is free and valid. */
function IdInput({
  doc,
  node,
  onRename,
}: {
  doc: Definition;
  node: JourneyNode;
  onRename: (to: string) => void;
}) {
  const { t } = useTranslation();
  const [text, setText] = useState(node.id);
  useEffect(() => setText(node.id), [node.id]);
  const taken = text !== node.id && doc.nodes.some((n) => n.id === text);
  const error = !NODE_ID.test(text)
    ? t("canvas.form.idInvalid")
    : taken
      ? t("canvas.form.idTaken")
      : undefined;
  return (
    <TextInput
      label={t("canvas.form.id")}
      description={t("canvas.form.idHint")}
      value={text}
      error={error}
      onChange={(event) => setText(event.currentTarget.value)}
      onBlur={() => (error ? setText(node.id) : onRename(text))}
      onKeyDown={(event) => {
        if (event.key === "Enter" && !error) onRename(text);
      }}
      data-field="id"
    />
  );
}

type Setter = (patch: Record<string, unknown>) => void;
type Err = (field: string) => string | undefined;

function TypeFields({
  node,
  doc,
  set,
  err,
}: {
  node: JourneyNode;
  doc: Definition;
  set: Setter;
  err: Err;
}) {
  const { t } = useTranslation();
  switch (node.type) {
    case "wait":
      return <WaitFields node={node} set={set} err={err} />;
    case "wait_for_event":
      return (
        <>
          <EventPicker
            label={t("canvas.form.waitEvent")}
            value={node.event}
            onChange={(event) => set({ event })}
            error={err("event")}
            required
            data-field="event"
          />
          <PropertyFilters
            label={t("canvas.form.onlyWhen")}
            value={node.where as PropertyFilter[]}
            onChange={(where) => set({ where })}
            error={err("where")}
          />
          <DurationInput
            label={t("canvas.form.timeout")}
            description={t("canvas.form.timeoutHint")}
            value={node.timeout}
            onChange={(timeout) => set({ timeout: timeout ?? "" })}
            error={err("timeout")}
            data-field="timeout"
          />
        </>
      );
    case "branch":
      return (
        <Stack gap="sm">
          {node.cases.map((c, index) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: rows of an editable list have no identity but their place
            <Stack key={index} gap={4} data-case={index}>
              <Group justify="space-between">
                <Text size="sm" fw={600}>
                  {t("canvas.form.case", { n: index + 1 })}
                </Text>
                {node.cases.length > 1 && (
                  <Button
                    size="compact-xs"
                    variant="subtle"
                    color="red"
                    onClick={() => set({ cases: node.cases.filter((_, i) => i !== index) })}
                  >
                    {t("canvas.form.removeCase", { n: index + 1 })}
                  </Button>
                )}
              </Group>
              <RuleBuilder
                label={t("canvas.form.case", { n: index + 1 })}
                value={c.when as RuleDoc}
                onChange={(when) =>
                  set({
                    cases: node.cases.map((x, i) =>
                      i === index ? { ...x, when: when ?? { trait: "", op: "eq", value: "" } } : x,
                    ),
                  })
                }
                error={err(`cases.${index}.when`)}
              />
            </Stack>
          ))}
          <Button
            size="xs"
            variant="light"
            leftSection={<IconPlus size={14} aria-hidden="true" />}
            onClick={() =>
              set({
                cases: [...node.cases, { when: { trait: "", op: "eq", value: "" }, next: "" }],
              })
            }
            style={{ alignSelf: "flex-start" }}
          >
            t("canvas.form.addCase")
          </Button>
          <Text size="xs" c="dimmed">
            t("canvas.form.elseHint")
          </Text>
        </Stack>
      );
    case "split":
      return <SplitFields node={node} set={set} err={err} />;
    case "send": {
      const effective =
        node.channel === "preferred" ? (node.fallback_channel ?? "email") : node.channel;
      return (
        <>
          <Select
            label={t("canvas.form.channel")}
            value={node.channel}
            allowDeselect={false}
            data={[
              ...CHANNELS.map((c) => ({ value: c, label: channelName(c, t) })),
              { value: "preferred", label: t("canvas.form.preferredChannel") },
            ]}
            onChange={(channel) => channel && set({ channel, template: "" })}
            error={err("channel")}
            data-field="channel"
          />
          {node.channel === "preferred" && (
            <Select
              label={t("canvas.form.fallbackChannel")}
              value={node.fallback_channel ?? "email"}
              allowDeselect={false}
              data={CHANNELS.map((c) => ({ value: c, label: channelName(c, t) }))}
              onChange={(fallback_channel) => fallback_channel && set({ fallback_channel })}
              error={err("fallback_channel")}
            />
          )}
          <TemplatePicker
            channel={effective}
            label={t("canvas.form.template")}
            value={node.template}
            onChange={(template) => set({ template })}
            error={err("template")}
            required
            data-field="template"
          />
          <Select
            label={t("canvas.form.category")}
            value={node.category ?? "journey"}
            allowDeselect={false}
            data={[
              {
                value: "journey",
                label: t("canvas.form.categoryOfJourney", {
                  category: t(`category.${doc.category ?? "marketing"}`),
                }),
              },
              { value: "marketing", label: t("category.marketing") },
              { value: "transactional", label: t("category.transactional") },
            ]}
            onChange={(category) =>
              set({ category: category === "journey" ? undefined : (category ?? undefined) })
            }
          />
          <KeyValueEditor
            label={t("canvas.form.data")}
            hint={t("canvas.form.dataHint")}
            keyLabel={t("canvas.form.variable")}
            value={node.data}
            onChange={(data) => set({ data })}
            error={err("data")}
          />
        </>
      );
    }
    case "update_profile":
      return (
        <KeyValueEditor
          label={t("canvas.form.traits")}
          hint={t("canvas.form.traitsHint")}
          keyLabel={t("ruleBuilder.trait")}
          value={node.traits}
          onChange={(traits) => set({ traits })}
          error={err("traits")}
        />
      );
    case "webhook":
      return (
        <>
          <TemplatePicker
            channel="webhook"
            label={t("canvas.form.template")}
            value={node.template}
            onChange={(template) => set({ template })}
            error={err("template")}
            required
            data-field="template"
          />
          <KeyValueEditor
            label={t("canvas.form.payload")}
            keyLabel={t("canvas.form.variable")}
            value={node.payload}
            onChange={(payload) => set({ payload })}
          />
        </>
      );
    case "agent_task":
      return (
        <>
          <TextInput
            label={t("canvas.form.queue")}
            description={t("canvas.form.queueHint")}
            value={node.queue}
            onChange={(event) => set({ queue: event.currentTarget.value })}
            error={err("queue")}
            required
            data-field="queue"
          />
          <TemplatePicker
            channel="agent_task"
            label={t("canvas.form.template")}
            value={node.template}
            onChange={(template) => set({ template })}
            error={err("template")}
            required
            data-field="template"
          />
          <NumberInput
            label={t("canvas.form.priority")}
            value={node.priority ?? 0}
            onChange={(priority) => set({ priority: Number(priority) || 0 })}
          />
          <KeyValueEditor
            label={t("canvas.form.payload")}
            keyLabel={t("canvas.form.variable")}
            value={node.payload}
            onChange={(payload) => set({ payload })}
          />
        </>
      );
    case "decide":
      return (
        <>
          <PlacementPicker
            label={t("canvas.form.placement")}
            description={t("canvas.form.placementHint")}
            value={node.placement}
            onChange={(placement) => set({ placement })}
            error={err("placement")}
            required
            data-field="placement"
          />
          {(node.offers ?? []).map((c, index) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: rows of an editable list have no identity but their place
            <Group key={index} gap="xs" wrap="nowrap" align="flex-end">
              <div style={{ flex: 1 }}>
                <OfferPicker
                  label={t("canvas.form.offerN", { n: index + 1 })}
                  value={c.offer}
                  onChange={(offer) =>
                    set({
                      offers: (node.offers ?? []).map((x, i) =>
                        i === index ? { ...x, offer } : x,
                      ),
                    })
                  }
                  error={err(`offers.${index}`)}
                />
              </div>
              <Button
                size="xs"
                variant="subtle"
                color="red"
                onClick={() => set({ offers: (node.offers ?? []).filter((_, i) => i !== index) })}
              >
                {t("canvas.form.remove")}
              </Button>
            </Group>
          ))}
          <Button
            size="xs"
            variant="light"
            leftSection={<IconPlus size={14} aria-hidden="true" />}
            onClick={() => set({ offers: [...(node.offers ?? []), { offer: "", next: "" }] })}
            style={{ alignSelf: "flex-start" }}
          >
            {t("canvas.form.addOffer")}
          </Button>
        </>
      );
    case "jump": {
      const intoJourney = node.journey != null;
      return (
        <>
          <SegmentedControl
            aria-label={t("canvas.form.jumpKind")}
            value={intoJourney ? "journey" : "node"}
            onChange={(kind) =>
              set(
                kind === "journey"
                  ? // biome-ignore lint/suspicious/noThenProperty: the journey document names this edge 'then'
                    { to: undefined, max_times: undefined, then: undefined, journey: "" }
                  : { journey: undefined, to: "" },
              )
            }
            data={[
              { value: "node", label: t("canvas.form.jumpToNode") },
              { value: "journey", label: t("canvas.form.jumpToJourney") },
            ]}
          />
          {intoJourney ? (
            <JourneyPicker
              label={t("canvas.form.journey")}
              value={node.journey}
              exclude={doc.key}
              onChange={(journey) => set({ journey })}
              error={err("journey")}
              required
            />
          ) : (
            <>
              <NumberInput
                label={t("canvas.form.maxTimes")}
                description={t("canvas.form.maxTimesHint")}
                value={node.max_times ?? ""}
                min={1}
                allowDecimal={false}
                onChange={(value) =>
                  set({
                    max_times: value === "" ? undefined : Number(value) || undefined,
                    // biome-ignore lint/suspicious/noThenProperty: the journey document names this edge 'then'
                    then: value === "" ? undefined : node.then,
                  })
                }
                error={err("max_times")}
              />
              <Text size="xs" c="dimmed">
                {t("canvas.form.jumpHint")}
              </Text>
            </>
          )}
        </>
      );
    }
    case "exit":
      return (
        <TextInput
          label={t("canvas.form.reason")}
          description={t("canvas.form.reasonHint")}
          value={node.reason ?? ""}
          onChange={(event) => set({ reason: event.currentTarget.value })}
          error={err("reason")}
          data-field="reason"
        />
      );
  }
}

type WaitMode = "duration" | "local" | "until" | "attribute";

function WaitFields({ node, set, err }: { node: Schemas["WaitNode"]; set: Setter; err: Err }) {
  const { t } = useTranslation();
  const mode: WaitMode = node.attribute
    ? "attribute"
    : node.until
      ? "until"
      : node.duration || !node.local_time
        ? "duration"
        : "local";
  const clear = {
    duration: undefined,
    until: undefined,
    attribute: undefined,
    local_time: undefined,
  };
  const modes: Record<WaitMode, Record<string, unknown>> = {
    duration: { ...clear, duration: "P1D" },
    local: { ...clear, local_time: "09:00" },
    until: { ...clear, until: dayjs().add(1, "day").startOf("hour").format() },
    attribute: { ...clear, attribute: "", local_time: "09:00", offset_days: 0 },
  };
  const timeError = err("local_time");
  return (
    <>
      <Select
        label={t("canvas.form.waitMode")}
        value={mode}
        allowDeselect={false}
        data={(["duration", "local", "until", "attribute"] as const).map((m) => ({
          value: m,
          label: t(`canvas.form.waitModes.${m}`),
        }))}
        onChange={(next) => next && next !== mode && set(modes[next as WaitMode])}
        data-field="wait-mode"
      />
      {mode === "duration" && (
        <>
          <DurationInput
            label={t("canvas.form.waitFor")}
            value={node.duration}
            defaultUnit="day"
            onChange={(duration) => set({ duration: duration ?? undefined })}
            error={err("duration")}
            data-field="duration"
          />
          <Switch
            label={t("canvas.form.thenLocalTime")}
            checked={!!node.local_time}
            onChange={(event) =>
              set({ local_time: event.currentTarget.checked ? "09:00" : undefined })
            }
          />
        </>
      )}
      {mode === "until" && (
        <DateTimePicker
          label={t("canvas.form.until")}
          value={node.until ? dayjs(node.until).format("YYYY-MM-DD HH:mm:ss") : null}
          onChange={(value) => set({ until: value ? dayjs(value).format() : undefined })}
          error={err("until")}
          valueFormat="DD.MM.YYYY HH:mm"
        />
      )}
      {mode === "attribute" && (
        <>
          <TextInput
            label={t("canvas.form.attribute")}
            description={t("canvas.form.attributeHint")}
            value={node.attribute ?? ""}
            onChange={(event) => set({ attribute: event.currentTarget.value })}
            error={err("attribute")}
          />
          <NumberInput
            label={t("canvas.form.offsetDays")}
            description={t("canvas.form.offsetDaysHint")}
            value={node.offset_days ?? 0}
            allowDecimal={false}
            onChange={(value) => set({ offset_days: Number(value) || 0 })}
          />
          <Switch
            label={t("canvas.form.annually")}
            checked={!!node.annually}
            onChange={(event) => set({ annually: event.currentTarget.checked })}
          />
        </>
      )}
      {node.local_time != null && (
        <TimeInput
          label={t("canvas.form.localTime")}
          description={t("canvas.form.localTimeHint")}
          value={node.local_time}
          onChange={(event) => set({ local_time: event.currentTarget.value || "09:00" })}
          error={timeError}
        />
      )}
      {(mode === "local" || mode === "duration") && node.local_time != null && (
        <Stack gap={4}>
          <Text size="sm" fw={500} id={`weekdays-${node.id}`}>
            {t("canvas.form.weekdays")}
          </Text>
          <Chip.Group
            multiple
            value={(node.weekdays ?? []).map(String)}
            onChange={(days) =>
              set({ weekdays: days.length ? days.map(Number).sort() : undefined })
            }
          >
            <Group gap={4} role="group" aria-labelledby={`weekdays-${node.id}`}>
              {WEEKDAYS.map((d) => (
                <Chip key={d} value={String(d)} size="xs">
                  {t(`canvas.form.weekday.${d as 0}`)}
                </Chip>
              ))}
            </Group>
          </Chip.Group>
          {err("weekdays") && (
            <Text size="xs" c="red.8">
              {err("weekdays")}
            </Text>
          )}
        </Stack>
      )}
    </>
  );
}

function SplitFields({ node, set, err }: { node: Schemas["SplitNode"]; set: Setter; err: Err }) {
  const { t } = useTranslation();
  const variants = node.variants;
  const auto = node.auto_winner;
  const setVariant = (index: number, patch: Record<string, unknown>) =>
    set({ variants: variants.map((v, i) => (i === index ? { ...v, ...patch } : v)) });
  return (
    <>
      {variants.map((v, index) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: rows of an editable list have no identity but their place
        <Group key={index} gap="xs" wrap="nowrap" align="flex-start" data-variant={index}>
          <TextInput
            label={t("canvas.form.variantName", { n: index + 1 })}
            value={v.key}
            onChange={(event) => setVariant(index, { key: event.currentTarget.value })}
            error={err(`variants.${index}.key`)}
            style={{ flex: 1 }}
          />
          <NumberInput
            label={t("canvas.form.weight")}
            value={v.weight}
            min={0}
            onChange={(value) => setVariant(index, { weight: Number(value) || 0 })}
            error={err(`variants.${index}.weight`)}
            w={100}
          />
          {variants.length > 1 && (
            <Button
              size="xs"
              variant="subtle"
              color="red"
              mt={24}
              onClick={() => set({ variants: variants.filter((_, i) => i !== index) })}
            >
              {t("canvas.form.remove")}
            </Button>
          )}
        </Group>
      ))}
      {err("variants") && (
        <Text size="xs" c="red.8">
          {err("variants")}
        </Text>
      )}
      <Button
        size="xs"
        variant="light"
        leftSection={<IconPlus size={14} aria-hidden="true" />}
        onClick={() =>
          set({
            variants: [
              ...variants,
              { key: String.fromCharCode(97 + variants.length), weight: 50, next: "" },
            ],
          })
        }
        style={{ alignSelf: "flex-start" }}
      >
        {t("canvas.form.addVariant")}
      </Button>
      <NumberInput
        label={t("canvas.form.controlWeight")}
        description={t("canvas.form.controlWeightHint")}
        value={node.control_weight ?? 0}
        min={0}
        onChange={(value) => set({ control_weight: Number(value) || 0 })}
        error={err("control_weight")}
      />
      <Divider />
      <Switch
        label={t("canvas.form.autoWinner")}
        description={t("canvas.form.autoWinnerHint")}
        checked={!!auto}
        onChange={(event) =>
          set({
            auto_winner: event.currentTarget.checked
              ? { min_sample: 1000, significance: 0.05, window: "P7D", min_runtime: "P7D" }
              : undefined,
          })
        }
      />
      {auto && (
        <>
          <NumberInput
            label={t("canvas.form.minSample")}
            value={auto.min_sample ?? 1000}
            min={1}
            allowDecimal={false}
            onChange={(value) => set({ auto_winner: { ...auto, min_sample: Number(value) || 1 } })}
          />
          <Select
            label={t("canvas.form.significance")}
            value={String(auto.significance ?? 0.05)}
            allowDeselect={false}
            data={["0.01", "0.05", "0.1"].map((v) => ({
              value: v,
              label: t("canvas.form.significanceValue", { value: Number(v) * 100 }),
            }))}
            onChange={(value) =>
              value && set({ auto_winner: { ...auto, significance: Number(value) } })
            }
          />
          <DurationInput
            label={t("canvas.form.window")}
            value={auto.window ?? "P7D"}
            defaultUnit="day"
            onChange={(window) => set({ auto_winner: { ...auto, window: window ?? "P7D" } })}
          />
          <DurationInput
            label={t("canvas.form.minRuntime")}
            value={auto.min_runtime ?? "P7D"}
            defaultUnit="day"
            onChange={(min_runtime) =>
              set({ auto_winner: { ...auto, min_runtime: min_runtime ?? "P7D" } })
            }
          />
          {err("auto_winner") && (
            <Text size="xs" c="red.8">
              {err("auto_winner")}
            </Text>
          )}
        </>
      )}
    </>
  );
}

/** Where each output leads: the same as drawing an edge, for keyboards and screen readers. */
function Connections({ doc, node, problems, editable, onConnect }: NodeFormProps) {
  const { t } = useTranslation();
  const outputs = outputsOf(node);
  if (!outputs.length) return null;
  const others = doc.nodes
    .filter((n) => n.id !== node.id || node.type === "jump")
    .map((n) => ({ value: n.id, label: n.label ? `${n.label} (${n.id})` : n.id }));
  return (
    <Stack gap="xs" data-connections>
      <Divider label={t("canvas.form.connections")} labelPosition="left" />
      {outputs.map((output) => (
        <Select
          key={output}
          label={t("canvas.form.leadsTo", { output: outputLabel(node, output, t) })}
          placeholder={t("canvas.form.nowhere")}
          value={targetOf(node, output) ?? null}
          data={others}
          clearable
          searchable
          disabled={!editable}
          onChange={(target) => onConnect(output, target)}
          error={fieldError(problems, node.id, output, t, doc)}
          data-output={output}
        />
      ))}
    </Stack>
  );
}
