// The journey canvas: build a journey on a React Flow canvas (a palette of every node type,
// connect, move, delete, copy, undo/redo, auto-layout, zoom, minimap), fill each step's form
// with the engine's problems shown on the node and field they concern while typing, simulate
// it over the stored history, save, publish, pause and resume it, export the file the CLI
// loads and import one; and, once published, watch it live (per-node counts, refreshed every
// few seconds). The document stays the source of truth: the canvas draws it and edits it.
import "@xyflow/react/dist/style.css";
import {
  Alert,
  Button,
  Card,
  Code,
  FileButton,
  Grid,
  Group,
  List,
  Menu,
  ScrollArea,
  SegmentedControl,
  Select,
  Stack,
  Text,
  Title,
  Tooltip,
  UnstyledButton,
} from "@mantine/core";
import { useDebouncedValue, useMediaQuery } from "@mantine/hooks";
import {
  IconArrowBackUp,
  IconArrowForwardUp,
  IconChartDots3,
  IconDeviceFloppy,
  IconDownload,
  IconLayoutDistributeHorizontal,
  IconPlayerPause,
  IconPlayerPlay,
  IconRocket,
  IconUpload,
} from "@tabler/icons-react";
import { keepPreviousData, useQuery, useQueryClient } from "@tanstack/react-query";
import { useBlocker, useNavigate } from "@tanstack/react-router";
import {
  Background,
  type Connection,
  Controls,
  type EdgeChange,
  type Edge as FlowEdge,
  type Node as FlowNode,
  MarkerType,
  MiniMap,
  type NodeChange,
  ReactFlow,
  ReactFlowProvider,
  useReactFlow,
} from "@xyflow/react";
import type { TFunction } from "i18next";
import {
  type DragEvent,
  useCallback,
  useEffect,
  useMemo,
  useReducer,
  useRef,
  useState,
} from "react";
import { useTranslation } from "react-i18next";
import { ApiError, type Schemas } from "@/api/client";
import { journeyNodeCountsQuery, journeyQuery, journeysQuery, sessionQuery } from "@/api/queries";
import { journeyCanvasRoute } from "@/app/router";
import { ErrorNotice } from "@/components/ErrorNotice";
import { Loading } from "@/components/Loading";
import { Page } from "@/components/Page";
import { useRuleNames } from "@/components/rules/RuleBuilder";
import { Tag } from "@/components/Tag";
import { useFormat } from "@/i18n";
import type { Format } from "@/i18n/format";
import { channelName, describeEntry, describeNode, type Names } from "../describe";
import { NodeIcon } from "../NodeIcon";
import { JourneyStatus } from "../status";
import {
  changeStatus,
  exportDocument,
  importDocument,
  problemsOfError,
  publishJourney,
  saveDraft,
  simulateDocument,
  submitForApproval,
  validateDocument,
} from "./api";
import { type EntryNodeType, type LiveFigures, nodeTypes, type StepNodeType } from "./CanvasNodes";
import {
  addNode,
  autoLayout,
  canonical,
  canvasEdges,
  connect,
  copyNodes,
  type Definition,
  disconnect,
  ENTRY,
  ENTRY_HEIGHT,
  ENTRY_WIDTH,
  emptyDefinition,
  forSaving,
  freeId,
  type JourneyNode,
  missingParts,
  moveNodes,
  NODE_TYPES,
  NODE_WIDTH,
  type NodeType,
  newNode,
  nodeHeight,
  outputsOf,
  type Position,
  type Problem,
  positions,
  removeEdges,
  removeNodes,
  renameNode,
  targetOf,
  updateNode,
} from "./document";
import { EntryForm } from "./EntryForm";
import { historyReducer, start } from "./history";
import { NodeForm } from "./NodeForm";
import { fromEngine, mergeProblems, outputLabel, problemsOf, problemText } from "./problems";

const DRAG_TYPE = "application/x-partitur-node";
/** How often the live view asks for fresh counts. */
export const LIVE_REFRESH_MS = 3000;
const SIMULATION_DAYS = [7, 30, 90] as const;

type Simulation = Schemas["SimulationResult"] & { days: number; of: string };

function asDefinition(raw: unknown): Definition {
  return raw as Definition;
}

export function JourneyCanvasPage() {
  const { t } = useTranslation();
  const { key } = journeyCanvasRoute.useParams();
  const search = journeyCanvasRoute.useSearch();
  const journey = useQuery({ ...journeyQuery(key), retry: false });
  const session = useQuery(sessionQuery);
  const crumbs = [
    { label: t("journeys.title"), to: "/journeys" },
    ...(journey.data ? [{ label: journey.data.name, to: `/journeys/${key}` }] : []),
  ];
  const missing = journey.error instanceof ApiError && journey.error.status === 404;
  // the document the canvas starts from, taken once: later reads (after a save) do not reset it
  const initial = useRef<{ doc: Definition; exists: boolean } | null>(null);
  if (!initial.current && journey.data) {
    initial.current = { doc: asDefinition(journey.data.draft), exists: true };
  } else if (!initial.current && missing) {
    initial.current = { doc: emptyDefinition(key, search.name ?? key), exists: false };
  }
  const permissions = new Set(session.data?.permissions ?? []);
  if (!initial.current) {
    return (
      <Page title={t("canvas.title")} crumbs={crumbs} ready={journey.isError}>
        {journey.isError ? (
          <ErrorNotice error={journey.error} retry={() => void journey.refetch()} />
        ) : (
          <Loading lines={10} />
        )}
      </Page>
    );
  }
  return (
    <ReactFlowProvider>
      <Editor
        journeyKey={key}
        initial={initial.current.doc}
        exists={initial.current.exists}
        detail={journey.data ?? null}
        view={search.view ?? "edit"}
        crumbs={crumbs}
        canEdit={permissions.has("journeys.edit")}
        canPublish={permissions.has("journeys.publish")}
        canSimulate={permissions.has("analyse")}
      />
    </ReactFlowProvider>
  );
}

interface EditorProps {
  journeyKey: string;
  initial: Definition;
  exists: boolean;
  detail: Schemas["JourneyDetail"] | null;
  view: "edit" | "live";
  crumbs: { label: string; to: string }[];
  canEdit: boolean;
  canPublish: boolean;
  canSimulate: boolean;
}

interface Status {
  tone: "good" | "bad" | "info";
  text: string;
}

function Editor(props: EditorProps) {
  const { journeyKey: key, detail, crumbs, canEdit, canPublish, canSimulate } = props;
  const { t } = useTranslation();
  const fmt = useFormat();
  const names = useRuleNames();
  const queryClient = useQueryClient();
  const navigate = useNavigate({ from: journeyCanvasRoute.fullPath });
  const flow = useReactFlow();
  const wide = useMediaQuery("(min-width: 62em)");
  const [history, dispatch] = useReducer(historyReducer<Definition>, props.initial, start);
  const doc = history.present;
  const [exists, setExists] = useState(props.exists);
  const [savedJson, setSavedJson] = useState(() => (props.exists ? canonical(props.initial) : ""));
  const [base] = useState(() => positions(props.initial));
  const [dragging, setDragging] = useState<Record<string, Position>>({});
  const [selected, setSelected] = useState<Set<string>>(() => new Set(props.exists ? [] : [ENTRY]));
  const [selectedEdges, setSelectedEdges] = useState<Set<string>>(new Set());
  const [engineOverride, setEngineOverride] = useState<Problem[] | null>(null);
  const [status, setStatus] = useState<Status | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [simulation, setSimulation] = useState<Simulation | null>(null);
  const [days, setDays] = useState<number>(30);
  // the workspace publishes with four eyes: the draft is submitted for approval instead
  const [fourEyes, setFourEyes] = useState(false);
  const clipboard = useRef<{ nodes: JourneyNode[]; at: Record<string, Position> } | null>(null);

  const published = detail?.published ? asDefinition(detail.published) : null;
  const live = props.view === "live" && published != null;
  const shown = live ? published : doc;
  const editable = canEdit && !live;
  const json = useMemo(() => JSON.stringify(forSaving(doc)), [doc]);
  const shape = useMemo(() => canonical(doc), [doc]);
  const dirty = shape !== savedJson;
  const latest = useRef(doc);
  latest.current = doc;

  // --- problems: the canvas's own at once, the engine's a moment after typing stops ----------
  const own = useMemo(() => missingParts(doc), [doc]);
  const [debounced] = useDebouncedValue(json, 500);
  const engine = useQuery({
    queryKey: ["journeys", "validate", debounced],
    queryFn: () => validateDocument(JSON.parse(debounced) as Definition),
    enabled: editable,
    staleTime: Number.POSITIVE_INFINITY,
    retry: false,
    placeholderData: keepPreviousData,
  });
  useEffect(() => {
    // a save or publish refused with problems shows them until the document changes
    if (json) setEngineOverride(null);
  }, [json]);
  const problems = useMemo(
    () =>
      live ? [] : mergeProblems(own, fromEngine(engineOverride ?? (engine.data as never[]) ?? [])),
    [live, own, engine.data, engineOverride],
  );

  // --- live figures ----------------------------------------------------------------------------
  const counts = useQuery({
    ...journeyNodeCountsQuery(key, LIVE_REFRESH_MS),
    enabled: live,
  });
  const liveFigures = useMemo(
    () => new Map((counts.data ?? []).map((c) => [c.node_id, c as LiveFigures])),
    [counts.data],
  );

  // --- positions ---------------------------------------------------------------------------------
  const placed = useMemo(() => {
    const fallback = shown.nodes.some((n) => !shown.layout?.nodes?.[n.id] && !base[n.id])
      ? positions(shown)
      : {};
    const at = (id: string): Position =>
      dragging[id] ??
      (id === ENTRY ? shown.layout?.entry : shown.layout?.nodes?.[id]) ??
      base[id] ??
      fallback[id] ?? { x: 0, y: 0 };
    return at;
  }, [shown, base, dragging]);

  // --- what the canvas draws -------------------------------------------------------------------
  const nodes = useMemo(() => {
    const incomplete = new Set(
      own.filter((p) => p.node && p.code !== "not_connected").map((p) => p.node),
    );
    const entryProblems = problemsOf(problems, null).map((p) => problemText(p, t, shown));
    const entry: EntryNodeType = {
      id: ENTRY,
      type: "entry",
      position: placed(ENTRY),
      width: ENTRY_WIDTH,
      height: ENTRY_HEIGHT,
      deletable: false,
      draggable: editable,
      selected: selected.has(ENTRY),
      ariaLabel: t("canvas.entryAria"),
      data: {
        summary: entrySummary(shown, t, fmt, names),
        details: entryDetails(shown, t, fmt),
        problems: entryProblems,
        editable,
        simulated: simulation && !live ? simulation.audience : null,
      },
    };
    const steps: StepNodeType[] = shown.nodes.map((node) => {
      const nodeProblems = problemsOf(problems, node.id).map((p) => problemText(p, t, shown));
      let summary: string;
      try {
        summary = incomplete.has(node.id)
          ? t("canvas.incomplete")
          : describeNode(node, t, fmt, names);
      } catch {
        summary = t("canvas.incomplete");
      }
      const height = nodeHeight(node);
      return {
        id: node.id,
        type: "step",
        position: placed(node.id),
        width: NODE_WIDTH,
        height,
        draggable: editable,
        deletable: editable,
        selected: selected.has(node.id),
        ariaLabel: t("journey.nodeAria", {
          node: node.label || node.id,
          type: t(`nodeType.${node.type}`),
        }),
        data: {
          nodeId: node.id,
          type: node.type,
          label: node.label ?? null,
          summary,
          outputs: outputsOf(node).map((o) => ({ id: o, label: outputLabel(node, o, t) })),
          problems: nodeProblems,
          start: node.id === shown.start,
          editable,
          height,
          simulated: simulation && !live ? (simulation.node_counts[node.id] ?? 0) : null,
          live: live
            ? (liveFigures.get(node.id) ?? {
                entered: 0,
                active_here: 0,
                sent: 0,
                failed: 0,
                pending: 0,
              })
            : null,
        },
      };
    });
    return [entry, ...steps] as FlowNode[];
  }, [
    shown,
    own,
    problems,
    placed,
    selected,
    editable,
    simulation,
    live,
    liveFigures,
    t,
    fmt,
    names,
  ]);

  const edges = useMemo<FlowEdge[]>(() => {
    const byId = new Map(shown.nodes.map((n) => [n.id, n]));
    return canvasEdges(shown).map((edge) => {
      const id = `${edge.source}:${edge.name}`;
      const source = byId.get(edge.source);
      const jump = edge.name === "to";
      return {
        id,
        source: edge.source,
        sourceHandle: edge.source === ENTRY ? "start" : edge.name,
        target: edge.target,
        targetHandle: "in",
        type: "smoothstep",
        selected: selectedEdges.has(id),
        deletable: editable,
        focusable: editable,
        animated: jump,
        markerEnd: { type: MarkerType.ArrowClosed, width: 16, height: 16 },
        ariaLabel: t("canvas.edgeAria", {
          from: edge.source === ENTRY ? t("canvas.entry") : edge.source,
          output: outputLabel(source, edge.name, t),
          to: edge.target,
        }),
        data: { output: edge.name },
      };
    });
  }, [shown, selectedEdges, editable, t]);

  // --- edits -----------------------------------------------------------------------------------
  const edit = useCallback((change: (d: Definition) => Definition) => {
    dispatch({ kind: "edit-with", change });
  }, []);

  const onNodesChange = useCallback(
    (changes: NodeChange[]) => {
      const moving: Record<string, Position> = {};
      let selection: Set<string> | null = null;
      for (const change of changes) {
        if (change.type === "position" && change.position && change.dragging) {
          moving[change.id] = change.position;
        } else if (change.type === "select") {
          selection ??= new Set(selected);
          if (change.selected) selection.add(change.id);
          else selection.delete(change.id);
        }
      }
      if (Object.keys(moving).length) setDragging((d) => ({ ...d, ...moving }));
      if (selection) setSelected(selection);
    },
    [selected],
  );

  const onNodeDragStop = useCallback(() => {
    setDragging((moved) => {
      if (Object.keys(moved).length) edit((d) => moveNodes(d, moved));
      return {};
    });
  }, [edit]);

  const onEdgesChange = useCallback(
    (changes: EdgeChange[]) => {
      let selection: Set<string> | null = null;
      for (const change of changes) {
        if (change.type === "select") {
          selection ??= new Set(selectedEdges);
          if (change.selected) selection.add(change.id);
          else selection.delete(change.id);
        }
      }
      if (selection) setSelectedEdges(selection);
    },
    [selectedEdges],
  );

  const onDelete = useCallback(
    ({ nodes: gone, edges: cut }: { nodes: FlowNode[]; edges: FlowEdge[] }) => {
      if (!editable) return;
      edit((d) =>
        removeNodes(
          removeEdges(
            d,
            cut.map((e) => ({
              source: e.source,
              output: String((e.data as { output?: string } | undefined)?.output ?? "next"),
            })),
          ),
          gone.map((n) => n.id),
        ),
      );
      setSelected(new Set());
      setSelectedEdges(new Set());
    },
    [edit, editable],
  );

  const onConnect = useCallback(
    (c: Connection) => {
      if (!editable || !c.source || !c.target || c.target === ENTRY) return;
      edit((d) => connect(d, c.source, c.sourceHandle ?? "next", c.target));
    },
    [edit, editable],
  );

  /** Add a step: after the selected step (connected from its first open output), else where
   * the canvas's middle is (or where it was dropped). */
  const add = useCallback(
    (type: NodeType, dropped?: Position) => {
      if (!editable) return;
      const id = freeId(doc, type);
      const from = selected.size === 1 ? [...selected][0] : undefined;
      const previous = from === ENTRY ? null : doc.nodes.find((n) => n.id === from);
      let at = dropped;
      if (!at && from) {
        // right of the step it follows, below any step already there
        const p = placed(from);
        const x = p.x + NODE_WIDTH + 150;
        let y = p.y;
        const others = doc.nodes.map((n) => ({ ...placed(n.id), h: nodeHeight(n) }));
        const overlaps = (top: number) =>
          others.some(
            (o) => Math.abs(o.x - x) < NODE_WIDTH + 20 && top < o.y + o.h + 24 && o.y < top + 150,
          );
        while (overlaps(y)) y += 60;
        at = { x, y };
      }
      if (!at) {
        const box = document.querySelector("[data-canvas]")?.getBoundingClientRect();
        const centre = box
          ? flow.screenToFlowPosition({ x: box.x + box.width / 2, y: box.y + box.height / 2 })
          : { x: 0, y: 0 };
        at = { x: centre.x - NODE_WIDTH / 2 + doc.nodes.length * 12, y: centre.y - 60 };
      }
      const position = at;
      edit((d) => {
        let next = addNode(d, newNode(type, id), position);
        if (from === ENTRY && !d.nodes.some((n) => n.id === d.start)) {
          next = connect(next, ENTRY, "start", id);
        } else if (previous) {
          const open = outputsOf(previous).find((o) => !targetOf(previous, o));
          if (open) next = connect(next, previous.id, open, id);
        }
        return next;
      });
      setSelected(new Set([id]));
      setSelectedEdges(new Set());
      // the new step comes into view, readable
      window.requestAnimationFrame(
        () =>
          void flow.setCenter(position.x + NODE_WIDTH / 2, position.y + 60, {
            zoom: Math.max(flow.getZoom(), 0.8),
            duration: 200,
          }),
      );
    },
    [doc, selected, placed, editable, edit, flow],
  );

  const onDrop = useCallback(
    (event: DragEvent) => {
      const type = event.dataTransfer.getData(DRAG_TYPE) as NodeType;
      if (!type) return;
      event.preventDefault();
      const at = flow.screenToFlowPosition({ x: event.clientX, y: event.clientY });
      add(type, { x: at.x - NODE_WIDTH / 2, y: at.y - 40 });
    },
    [flow, add],
  );

  const copySelection = useCallback(() => {
    const chosen = doc.nodes.filter((n) => selected.has(n.id));
    if (!chosen.length) return false;
    clipboard.current = {
      nodes: chosen,
      at: Object.fromEntries(chosen.map((n) => [n.id, placed(n.id)])),
    };
    return true;
  }, [doc, selected, placed]);

  const paste = useCallback(() => {
    const held = clipboard.current;
    if (!held || !editable) return;
    const made = copyNodes(doc, held.nodes, held.at);
    dispatch({ kind: "edit", next: made.doc });
    setSelected(new Set(made.ids));
  }, [doc, editable]);

  const duplicate = useCallback(
    (id: string) => {
      const node = doc.nodes.find((n) => n.id === id);
      if (!node || !editable) return;
      const made = copyNodes(doc, [node], { [id]: placed(id) });
      dispatch({ kind: "edit", next: made.doc });
      setSelected(new Set(made.ids));
    },
    [doc, editable, placed],
  );

  // Ctrl+Z, Ctrl+Shift+Z (or Ctrl+Y), Ctrl+C, Ctrl+V; typing in a field keeps its own undo
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      const target = event.target as HTMLElement | null;
      if (target?.closest("input, textarea, select, [contenteditable=true]")) return;
      if (!(event.ctrlKey || event.metaKey) || live) return;
      const k = event.key.toLowerCase();
      if (k === "z" && !event.shiftKey) dispatch({ kind: "undo" });
      else if ((k === "z" && event.shiftKey) || k === "y") dispatch({ kind: "redo" });
      else if (k === "c") {
        if (!copySelection()) return;
      } else if (k === "v") paste();
      else return;
      event.preventDefault();
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [copySelection, paste, live]);

  // leaving the canvas with unsaved changes asks first (another page, reload, closing the tab);
  // switching between editing and the live view stays on the canvas and keeps the changes
  const unsaved = canEdit && (dirty || !exists) && doc.nodes.length > 0;
  useBlocker({
    shouldBlockFn: ({ next }) =>
      unsaved &&
      next.routeId !== journeyCanvasRoute.id &&
      !window.confirm(t("canvas.leaveUnsaved")),
    enableBeforeUnload: () => unsaved,
  });

  // --- server actions --------------------------------------------------------------------------
  const refresh = useCallback(async () => {
    await Promise.all([
      queryClient.invalidateQueries({ queryKey: journeyQuery(key).queryKey }),
      queryClient.invalidateQueries({ queryKey: journeysQuery.queryKey }),
    ]);
  }, [queryClient, key]);

  const refused = useCallback(
    (
      error: unknown,
      what: "save" | "publish" | "submit" | "simulate" | "export" | "import" | "status",
    ) => {
      const found = problemsOfError(error);
      if (found) {
        setEngineOverride(fromEngine(found));
        setStatus({ tone: "bad", text: t(`canvas.status.${what}Refused`) });
        setSelected(new Set());
      } else if (error instanceof ApiError && error.status > 0 && error.status < 500) {
        setStatus({
          tone: "bad",
          text: t("canvas.status.failedWith", {
            action: t(`canvas.action.${what}`),
            detail: error.problem.detail ?? error.problem.title ?? String(error.status),
          }),
        });
      } else {
        const id = error instanceof ApiError ? error.requestId : null;
        setStatus({
          tone: "bad",
          text: id
            ? t("canvas.status.serverFailedId", { action: t(`canvas.action.${what}`), id })
            : t("canvas.status.networkFailed", { action: t(`canvas.action.${what}`) }),
        });
      }
    },
    [t],
  );

  const save = useCallback(async (): Promise<boolean> => {
    const toSave = forSaving(doc);
    const sent = canonical(toSave);
    setBusy("save");
    try {
      await saveDraft(toSave, !exists);
      setSavedJson(sent);
      setExists(true);
      setStatus({ tone: "good", text: t("canvas.status.saved") });
      await refresh();
      // the canvas takes the draft as the server stored it (every default written out), so
      // it holds exactly what an export or the CLI sees; unless it was edited meanwhile
      const stored = await queryClient.fetchQuery(journeyQuery(key));
      const draft = asDefinition(stored.draft);
      if (canonical(latest.current) === sent) {
        dispatch({ kind: "replace", present: draft });
        setSavedJson(canonical(draft));
      }
      return true;
    } catch (error) {
      refused(error, "save");
      return false;
    } finally {
      setBusy(null);
    }
  }, [doc, exists, refresh, refused, t, key, queryClient.fetchQuery]);

  const publish = useCallback(async () => {
    if ((dirty || !exists) && !(await save())) return;
    setBusy("publish");
    try {
      const version = await publishJourney(key);
      setStatus({ tone: "good", text: t("canvas.status.published", { version: version.version }) });
      await refresh();
      void navigate({ search: (s) => ({ ...s, view: "live" }), replace: true });
    } catch (error) {
      if (error instanceof ApiError && error.status === 403) {
        setFourEyes(true);
        setStatus({ tone: "info", text: t("canvas.status.fourEyes") });
      } else {
        refused(error, "publish");
      }
    } finally {
      setBusy(null);
    }
  }, [dirty, exists, save, key, refresh, refused, navigate, t]);

  const submit = useCallback(async () => {
    if ((dirty || !exists) && !(await save())) return;
    setBusy("submit");
    try {
      await submitForApproval(key);
      setStatus({ tone: "good", text: t("canvas.status.submitted") });
    } catch (error) {
      refused(error, "submit");
    } finally {
      setBusy(null);
    }
  }, [dirty, exists, save, key, refused, t]);

  const setJourneyStatus = useCallback(
    async (action: "pause" | "resume") => {
      setBusy(action);
      try {
        await changeStatus(key, action);
        setStatus({ tone: "good", text: t(`canvas.status.${action}d`) });
        await refresh();
      } catch (error) {
        refused(error, "status");
      } finally {
        setBusy(null);
      }
    },
    [key, refresh, refused, t],
  );

  const simulate = useCallback(async () => {
    setBusy("simulate");
    try {
      const result = await simulateDocument(forSaving(doc), days);
      setSimulation({ ...result, days, of: shape });
      setStatus({ tone: "info", text: t("canvas.status.simulated", { count: days }) });
      setSelected(new Set());
    } catch (error) {
      refused(error, "simulate");
    } finally {
      setBusy(null);
    }
  }, [doc, days, refused, t, shape]);

  const download = useCallback(
    async (format: "yaml" | "json") => {
      setBusy("export");
      try {
        const text = await exportDocument(forSaving(shown), format);
        const blob = new Blob([text], {
          type: format === "yaml" ? "application/yaml" : "application/json",
        });
        const url = URL.createObjectURL(blob);
        const link = document.createElement("a");
        link.href = url;
        link.download = `${key}.${format === "yaml" ? "yaml" : "json"}`;
        document.body.append(link);
        link.click();
        link.remove();
        setTimeout(() => URL.revokeObjectURL(url), 1000);
        setStatus({ tone: "good", text: t("canvas.status.exported", { file: link.download }) });
      } catch (error) {
        refused(error, "export");
      } finally {
        setBusy(null);
      }
    },
    [shown, key, refused, t],
  );

  const upload = useCallback(
    async (file: File | null) => {
      if (!file) return;
      setBusy("import");
      try {
        const imported = await importDocument(await file.text(), file.name);
        // the page's journey keeps its key: an import replaces what is on the canvas
        const next = { ...imported, key };
        const filled =
          next.layout?.nodes && Object.keys(next.layout.nodes).length ? next : autoLayout(next);
        dispatch({ kind: "edit", next: filled });
        setSelected(new Set());
        setStatus({ tone: "good", text: t("canvas.status.imported", { file: file.name }) });
        window.requestAnimationFrame(() => void flow.fitView({ padding: 0.15 }));
      } catch (error) {
        refused(error, "import");
      } finally {
        setBusy(null);
      }
    },
    [key, flow, refused, t],
  );

  const tidy = useCallback(() => {
    edit(autoLayout);
    window.requestAnimationFrame(() => void flow.fitView({ padding: 0.15 }));
  }, [edit, flow]);

  const selectedId = selected.size === 1 ? [...selected][0] : undefined;
  const selectedNode = shown.nodes.find((n) => n.id === selectedId);
  const journeyStatus = detail?.status ?? "draft";
  const ready = !engine.isPending || !editable;
  const title = doc.name || t("canvas.untitled");

  const ariaLabelConfig = useMemo(
    () => ({
      "node.a11yDescription.default": t("canvas.nodeDescription"),
      "node.a11yDescription.keyboardDisabled": t("canvas.nodeDescription"),
      "node.a11yDescription.ariaLiveMessage": () => "",
      "edge.a11yDescription.default": t("flow.edgeDescription"),
      "controls.ariaLabel": t("flow.controls"),
      "controls.zoomIn.ariaLabel": t("flow.zoomIn"),
      "controls.zoomOut.ariaLabel": t("flow.zoomOut"),
      "controls.fitView.ariaLabel": t("flow.fitView"),
      "controls.interactive.ariaLabel": t("flow.interactive"),
      "minimap.ariaLabel": t("flow.minimap"),
      "handle.ariaLabel": t("flow.handle"),
    }),
    [t],
  );

  return (
    <Page
      title={title}
      crumbs={crumbs}
      ready={ready}
      subtitle={
        <Group gap="xs" component="span">
          <Code>{key}</Code>
          <JourneyStatus status={exists ? journeyStatus : "draft"} />
          {detail?.latest_version != null && (
            <Text span size="sm" c="dimmed">
              {t("journey.versionN", { n: detail.latest_version })}
            </Text>
          )}
          {editable && (
            <Tag
              tone={dirty || !exists ? "warn" : "good"}
              data-save-state={dirty || !exists ? "dirty" : "saved"}
            >
              {dirty || !exists ? t("canvas.unsaved") : t("canvas.saved")}
            </Tag>
          )}
        </Group>
      }
      actions={
        published ? (
          <SegmentedControl
            aria-label={t("canvas.view")}
            value={live ? "live" : "edit"}
            onChange={(view) =>
              void navigate({
                search: (s) => ({ ...s, view: view as "edit" | "live" }),
                replace: true,
              })
            }
            data={[
              { value: "edit", label: t("canvas.views.edit") },
              { value: "live", label: t("canvas.views.live") },
            ]}
            data-view-switch
          />
        ) : undefined
      }
    >
      <Card p="xs" data-canvas-toolbar>
        <Group gap="xs" wrap="wrap" justify="space-between">
          <Group gap={6} wrap="wrap">
            {editable && (
              <>
                <Tooltip label={t("canvas.undoHint")}>
                  <Button
                    size="xs"
                    variant="default"
                    leftSection={<IconArrowBackUp size={16} aria-hidden="true" />}
                    disabled={!history.past.length}
                    onClick={() => dispatch({ kind: "undo" })}
                  >
                    {t("canvas.undo")}
                  </Button>
                </Tooltip>
                <Tooltip label={t("canvas.redoHint")}>
                  <Button
                    size="xs"
                    variant="default"
                    leftSection={<IconArrowForwardUp size={16} aria-hidden="true" />}
                    disabled={!history.future.length}
                    onClick={() => dispatch({ kind: "redo" })}
                  >
                    {t("canvas.redo")}
                  </Button>
                </Tooltip>
                <Button
                  size="xs"
                  variant="default"
                  leftSection={<IconLayoutDistributeHorizontal size={16} aria-hidden="true" />}
                  onClick={tidy}
                >
                  {t("canvas.tidy")}
                </Button>
              </>
            )}
            <Menu position="bottom-start" withinPortal>
              <Menu.Target>
                <Button
                  size="xs"
                  variant="default"
                  leftSection={<IconDownload size={16} aria-hidden="true" />}
                  loading={busy === "export"}
                >
                  {t("canvas.export")}
                </Button>
              </Menu.Target>
              <Menu.Dropdown>
                <Menu.Item onClick={() => void download("yaml")} data-export="yaml">
                  {t("canvas.exportYaml")}
                </Menu.Item>
                <Menu.Item onClick={() => void download("json")} data-export="json">
                  {t("canvas.exportJson")}
                </Menu.Item>
              </Menu.Dropdown>
            </Menu>
            {editable && (
              <FileButton onChange={(file) => void upload(file)} accept=".yaml,.yml,.json">
                {(props) => (
                  <Button
                    {...props}
                    size="xs"
                    variant="default"
                    leftSection={<IconUpload size={16} aria-hidden="true" />}
                    loading={busy === "import"}
                    data-import
                  >
                    {t("canvas.import")}
                  </Button>
                )}
              </FileButton>
            )}
          </Group>
          <Group gap={6} wrap="wrap">
            {editable && canSimulate && (
              <>
                <Select
                  size="xs"
                  w={150}
                  aria-label={t("canvas.simulateDays")}
                  value={String(days)}
                  allowDeselect={false}
                  data={SIMULATION_DAYS.map((d) => ({
                    value: String(d),
                    label: t("canvas.lastDays", { count: d }),
                  }))}
                  onChange={(value) => value && setDays(Number(value))}
                  data-field="simulate-days"
                />
                <Button
                  size="xs"
                  variant="light"
                  leftSection={<IconChartDots3 size={16} aria-hidden="true" />}
                  loading={busy === "simulate"}
                  onClick={() => void simulate()}
                  data-action="simulate"
                >
                  {t("canvas.simulate")}
                </Button>
              </>
            )}
            {editable && (
              <Button
                size="xs"
                variant="light"
                leftSection={<IconDeviceFloppy size={16} aria-hidden="true" />}
                loading={busy === "save"}
                onClick={() => void save()}
                data-action="save"
              >
                {t("canvas.save")}
              </Button>
            )}
            {editable && canPublish && journeyStatus !== "stopped" && (
              <Button
                size="xs"
                leftSection={<IconRocket size={16} aria-hidden="true" />}
                loading={busy === "publish"}
                onClick={() => void publish()}
                data-action="publish"
              >
                {t("canvas.publish")}
              </Button>
            )}
            {editable && fourEyes && (
              <Button
                size="xs"
                variant="light"
                loading={busy === "submit"}
                onClick={() => void submit()}
                data-action="submit"
              >
                {t("canvas.submit")}
              </Button>
            )}
            {canPublish && exists && journeyStatus === "active" && (
              <Button
                size="xs"
                variant="default"
                leftSection={<IconPlayerPause size={16} aria-hidden="true" />}
                loading={busy === "pause"}
                onClick={() => void setJourneyStatus("pause")}
                data-action="pause"
              >
                {t("canvas.pause")}
              </Button>
            )}
            {canPublish && exists && journeyStatus === "paused" && (
              <Button
                size="xs"
                variant="default"
                leftSection={<IconPlayerPlay size={16} aria-hidden="true" />}
                loading={busy === "resume"}
                onClick={() => void setJourneyStatus("resume")}
                data-action="resume"
              >
                {t("canvas.resume")}
              </Button>
            )}
          </Group>
        </Group>
        <div aria-live="polite" data-canvas-status={status?.tone ?? ""}>
          {status && (
            <Text
              size="sm"
              mt={6}
              c={status.tone === "bad" ? "red.8" : status.tone === "good" ? "teal.9" : undefined}
            >
              {status.text}
            </Text>
          )}
        </div>
      </Card>

      {editable && <Palette onAdd={(type) => add(type)} />}

      <Grid gap="sm">
        <Grid.Col span={{ base: 12, md: 8, xl: 8 }}>
          <section
            aria-label={t("canvas.canvasLabel")}
            data-canvas={live ? "live" : "edit"}
            style={{
              height: "max(440px, calc(100dvh - 370px))",
              border: "1px solid var(--mantine-color-gray-3)",
              borderRadius: 8,
              background: "var(--mantine-color-white)",
            }}
            onDragOver={(event) => {
              if (editable) {
                event.preventDefault();
                event.dataTransfer.dropEffect = "copy";
              }
            }}
            onDrop={onDrop}
          >
            <ReactFlow
              nodes={nodes}
              edges={edges}
              nodeTypes={nodeTypes}
              onNodesChange={onNodesChange}
              onEdgesChange={onEdgesChange}
              onNodeDragStop={onNodeDragStop}
              onConnect={onConnect}
              onDelete={onDelete}
              onPaneClick={() => {
                setSelected(new Set());
                setSelectedEdges(new Set());
              }}
              nodesDraggable={editable}
              nodesConnectable={editable}
              elementsSelectable
              deleteKeyCode={editable ? ["Delete", "Backspace"] : null}
              multiSelectionKeyCode={["Shift", "Meta", "Control"]}
              onInit={(instance) => {
                // the whole journey when it is readable so; else its beginning, readable
                void instance.fitView({ padding: 0.15, maxZoom: 1 }).then(() => {
                  if (instance.getZoom() >= 0.6) return;
                  const entry = placed(ENTRY);
                  const box = document.querySelector("[data-canvas]")?.getBoundingClientRect();
                  const zoom = 0.75;
                  void instance.setViewport({
                    x: 24 - entry.x * zoom,
                    y: (box?.height ?? 500) / 2 - (entry.y + ENTRY_HEIGHT / 2) * zoom,
                    zoom,
                  });
                });
              }}
              minZoom={0.2}
              maxZoom={1.6}
              ariaLabelConfig={ariaLabelConfig}
              proOptions={{ hideAttribution: false }}
            >
              <Background gap={20} color="#e9ecef" />
              <Controls showInteractive={false} />
              {wide && <MiniMap pannable zoomable ariaLabel={t("flow.minimap")} />}
            </ReactFlow>
          </section>
        </Grid.Col>
        <Grid.Col span={{ base: 12, md: 4, xl: 4 }}>
          <Card p="sm" data-side-panel>
            <ScrollArea.Autosize
              mah="max(420px, calc(100dvh - 390px))"
              type="auto"
              offsetScrollbars
            >
              {selectedNode && !live ? (
                <NodeForm
                  doc={doc}
                  node={selectedNode}
                  problems={problems}
                  editable={editable}
                  onChange={(node) => edit((d) => updateNode(d, node))}
                  onRename={(to) => {
                    const from = selectedNode.id;
                    edit((d) => renameNode(moveNodes(d, { [from]: placed(from) }), from, to));
                    setSelected(new Set([to]));
                  }}
                  onConnect={(output, target) =>
                    edit((d) =>
                      target
                        ? connect(d, selectedNode.id, output, target)
                        : disconnect(d, selectedNode.id, output),
                    )
                  }
                  onDelete={() => {
                    edit((d) => removeNodes(d, [selectedNode.id]));
                    setSelected(new Set());
                  }}
                  onDuplicate={() => duplicate(selectedNode.id)}
                  onMakeStart={() => edit((d) => ({ ...d, start: selectedNode.id }))}
                />
              ) : selectedId === ENTRY && !live ? (
                <EntryForm
                  doc={doc}
                  problems={problems}
                  editable={editable}
                  isNew={!exists}
                  onChange={(next) => dispatch({ kind: "edit", next })}
                />
              ) : live ? (
                <LivePanel
                  counts={counts}
                  figures={liveFigures}
                  doc={shown}
                  status={journeyStatus}
                  selected={selectedNode}
                />
              ) : (
                <Overview
                  doc={doc}
                  problems={problems}
                  checking={engine.isFetching}
                  simulation={simulation}
                  current={shape}
                  onSelect={(id) => setSelected(new Set([id ?? ENTRY]))}
                  onShowPath={(ids) => setSelected(new Set(ids))}
                />
              )}
            </ScrollArea.Autosize>
          </Card>
        </Grid.Col>
      </Grid>
    </Page>
  );
}

function entrySummary(doc: Definition, t: TFunction, fmt: Format, names: Names): string {
  const entry = doc.entry;
  const chosen =
    entry.type === "manual" ||
    (entry.type === "event" && entry.event) ||
    ((entry.type === "segment" || entry.type === "audience") && entry.segment);
  if (!chosen) return t("canvas.chooseEntry");
  return describeEntry(entry, t, fmt, names);
}

function entryDetails(doc: Definition, t: TFunction, fmt: Format): string[] {
  const reEntry = doc.re_entry ?? { policy: "never" };
  const lines = [
    reEntry.policy === "after" && reEntry.period
      ? t("canvas.reEntryAfter", { duration: fmt.duration(reEntry.period) })
      : t(`canvas.settings.reEntryPolicies.${reEntry.policy ?? "never"}`),
  ];
  if (doc.goal?.event) lines.push(t("canvas.goalLine", { event: doc.goal.event }));
  return lines;
}

function Palette({ onAdd }: { onAdd: (type: NodeType) => void }) {
  const { t } = useTranslation();
  return (
    <Card p="xs" data-palette>
      <Group gap={6} wrap="wrap" role="toolbar" aria-label={t("canvas.palette.title")}>
        <Text size="xs" fw={600} c="dimmed" mr={4}>
          {t("canvas.palette.title")}
        </Text>
        {NODE_TYPES.map((type) => (
          <Tooltip key={type} label={t(`canvas.palette.help.${type}`)} multiline w={260}>
            <UnstyledButton
              draggable
              onDragStart={(event) => {
                event.dataTransfer.setData(DRAG_TYPE, type);
                event.dataTransfer.effectAllowed = "copy";
              }}
              onClick={() => onAdd(type)}
              aria-label={t("canvas.palette.add", { type: t(`nodeType.${type}`) })}
              data-palette-item={type}
              style={{
                border: "1px solid var(--mantine-color-gray-3)",
                borderRadius: 6,
                padding: "3px 8px 3px 4px",
                cursor: "grab",
              }}
            >
              <Group gap={6} wrap="nowrap">
                <NodeIcon type={type} />
                <Text size="xs" fw={500}>
                  {t(`nodeType.${type}`)}
                </Text>
              </Group>
            </UnstyledButton>
          </Tooltip>
        ))}
      </Group>
    </Card>
  );
}

function Overview({
  doc,
  problems,
  checking,
  simulation,
  current,
  onSelect,
  onShowPath,
}: {
  doc: Definition;
  problems: Problem[];
  checking: boolean;
  simulation: Simulation | null;
  current: string;
  onSelect: (node: string | null) => void;
  onShowPath: (nodes: string[]) => void;
}) {
  const { t } = useTranslation();
  const fmt = useFormat();
  const label = (id: string | null) =>
    id ? (doc.nodes.find((n) => n.id === id)?.label ?? id) : t("canvas.entry");
  return (
    <Stack gap="md">
      <div>
        <Title order={2} fz="md" mb={6}>
          {t("canvas.problems")}
        </Title>
        {problems.length === 0 ? (
          <Text size="sm" c="teal.9" data-problems-none>
            {checking ? t("canvas.checking") : t("canvas.noProblems")}
          </Text>
        ) : (
          <List size="sm" spacing={4} data-problem-list>
            {problems.map((p, i) => (
              // biome-ignore lint/suspicious/noArrayIndexKey: rows of an editable list have no identity but their place
              <List.Item key={`${p.node}-${p.field}-${p.code}-${i}`}>
                <UnstyledButton
                  onClick={() => onSelect(p.node)}
                  data-problem-node={p.node ?? "entry"}
                >
                  <Text size="sm" span fw={600}>
                    {label(p.node)}:
                  </Text>{" "}
                  <Text size="sm" span c="red.8">
                    {problemText(p, t, doc)}
                  </Text>
                </UnstyledButton>
              </List.Item>
            ))}
          </List>
        )}
      </div>
      {simulation && (
        <div data-simulation>
          <Title order={2} fz="md" mb={6}>
            {t("canvas.simulation.title")}
          </Title>
          {simulation.of !== current && (
            <Alert color="gray" p="xs" mb="xs">
              <Text size="xs">{t("canvas.simulation.stale")}</Text>
            </Alert>
          )}
          <Text size="sm" data-simulation-audience={simulation.audience}>
            {t("canvas.simulation.audience", {
              count: simulation.audience,
              value: fmt.integer(simulation.audience),
              days: simulation.days,
            })}
          </Text>
          <Text size="sm" c="dimmed">
            {t("canvas.simulation.entered", {
              count: simulation.entered,
              value: fmt.integer(simulation.entered),
              profiles: fmt.integer(simulation.profiles),
            })}
          </Text>
          {Object.keys(simulation.outcomes).length > 0 && (
            <Group gap={6} mt={6}>
              {Object.entries(simulation.outcomes).map(([outcome, n]) => (
                <Tag key={outcome}>
                  {t(`instanceStatus.${outcome as "active"}`)} {fmt.integer(n)}
                </Tag>
              ))}
            </Group>
          )}
          <Text size="sm" fw={600} mt="sm">
            {t("canvas.simulation.sends")}
          </Text>
          {Object.keys(simulation.sends).length === 0 ? (
            <Text size="sm" c="dimmed">
              {t("canvas.simulation.noSends")}
            </Text>
          ) : (
            <List size="sm">
              {Object.entries(simulation.sends).map(([what, n]) => {
                const [channel = "", template = ""] = what.split(":");
                return (
                  <List.Item key={what}>
                    {t("canvas.simulation.send", {
                      value: fmt.integer(n),
                      channel: channelName(channel, t),
                      template,
                    })}
                  </List.Item>
                );
              })}
            </List>
          )}
          {Object.keys(simulation.samples).length > 0 && (
            <>
              <Text size="sm" fw={600} mt="sm">
                {t("canvas.simulation.samples")}
              </Text>
              <Stack gap={4}>
                {Object.entries(simulation.samples).map(([profile, steps]) => {
                  const path = steps.filter((s) => s.node).map((s) => s.node as string);
                  return (
                    <UnstyledButton
                      key={profile}
                      onClick={() => onShowPath(path)}
                      data-sample={profile}
                    >
                      <Text size="xs">
                        {[...path.map((id) => label(id)), t("journey.end")].join(" → ")}
                      </Text>
                    </UnstyledButton>
                  );
                })}
              </Stack>
            </>
          )}
        </div>
      )}
      <div>
        <Title order={2} fz="md" mb={6}>
          {t("canvas.help.title")}
        </Title>
        <List size="xs" spacing={2}>
          <List.Item>{t("canvas.help.add")}</List.Item>
          <List.Item>{t("canvas.help.connect")}</List.Item>
          <List.Item>{t("canvas.help.keys")}</List.Item>
          <List.Item>{t("canvas.help.settings")}</List.Item>
        </List>
      </div>
    </Stack>
  );
}

function LivePanel({
  counts,
  figures,
  doc,
  status,
  selected,
}: {
  counts: { dataUpdatedAt: number; isError: boolean; error: unknown; refetch: () => unknown };
  figures: Map<string, LiveFigures>;
  doc: Definition;
  status: string;
  selected: JourneyNode | undefined;
}) {
  const { t } = useTranslation();
  const fmt = useFormat();
  const total = (pick: (f: LiveFigures) => number) =>
    [...figures.values()].reduce((sum, f) => sum + pick(f), 0);
  const startFigures = figures.get(doc.start);
  const rows = selected ? [selected] : doc.nodes;
  return (
    <Stack gap="sm" data-live-panel>
      <Title order={2} fz="md">
        {t("canvas.live.title")}
      </Title>
      <Text size="sm" c="dimmed">
        {t("canvas.live.hint", { seconds: LIVE_REFRESH_MS / 1000 })}
      </Text>
      {status === "paused" && (
        <Alert color="orange" p="xs">
          <Text size="sm">{t("canvas.live.paused")}</Text>
        </Alert>
      )}
      {counts.isError && <ErrorNotice error={counts.error} retry={() => void counts.refetch()} />}
      <Group gap="lg">
        <div>
          <Text size="xs" c="dimmed">
            {t("kpi.entered")}
          </Text>
          <Text fw={700} data-live-total="entered">
            {fmt.integer(startFigures?.entered ?? 0)}
          </Text>
        </div>
        <div>
          <Text size="xs" c="dimmed">
            {t("canvas.live.waiting")}
          </Text>
          <Text fw={700} data-live-total="waiting">
            {fmt.integer(total((f) => f.active_here))}
          </Text>
        </div>
        <div>
          <Text size="xs" c="dimmed">
            {t("canvas.live.sent")}
          </Text>
          <Text fw={700} data-live-total="sent">
            {fmt.integer(total((f) => f.sent))}
          </Text>
        </div>
        <div>
          <Text size="xs" c="dimmed">
            {t("canvas.live.failed")}
          </Text>
          <Text fw={700} data-live-total="failed">
            {fmt.integer(total((f) => f.failed))}
          </Text>
        </div>
      </Group>
      <Stack gap={4}>
        {rows.map((node) => {
          const f = figures.get(node.id);
          return (
            <Text key={node.id} size="xs" data-live-row={node.id}>
              <b>{node.label || node.id}</b>:{" "}
              {t("canvas.live.row", {
                reached: fmt.integer(f?.entered ?? 0),
                waiting: fmt.integer(f?.active_here ?? 0),
                sent: fmt.integer(f?.sent ?? 0),
                failed: fmt.integer(f?.failed ?? 0),
              })}
            </Text>
          );
        })}
      </Stack>
      {counts.dataUpdatedAt > 0 && (
        <Text size="xs" c="dimmed" data-live-updated>
          {t("canvas.live.updated", {
            time: fmt.dateTime(new Date(counts.dataUpdatedAt), null, true),
          })}
        </Text>
      )}
    </Stack>
  );
}
