// The graph's first viewport, fitted before its first paint. React Flow's own `fitView` waits for
// its pan-zoom to exist; with the nodes' sizes known up front (`presized`) that moment has passed
// and the fit would be dropped. So the container is measured in a layout effect (before the
// browser paints) and React Flow starts at the fitted viewport.
import { useEffect, useLayoutEffect, useRef, useState } from "react";
import { getViewportForBounds, useStore, type Viewport, type XYPosition } from "@xyflow/react";

interface Sized {
  position: XYPosition;
  initialWidth?: number;
  initialHeight?: number;
}

const EDGE = 16;

export interface FitOptions {
  padding: number;
  minZoom: number;
  maxZoom: number;
}

/** The viewport that shows all of `nodes` in a `width` × `height` box. */
export function fitted(nodes: Sized[], width: number, height: number, o: FitOptions): Viewport {
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  for (const n of nodes) {
    x0 = Math.min(x0, n.position.x);
    y0 = Math.min(y0, n.position.y);
    x1 = Math.max(x1, n.position.x + (n.initialWidth ?? 0));
    y1 = Math.max(y1, n.position.y + (n.initialHeight ?? 0));
  }
  if (!Number.isFinite(x0)) return { x: 0, y: 0, zoom: 1 };
  const v = getViewportForBounds({ x: x0, y: y0, width: x1 - x0, height: y1 - y0 }, width, height, o.minZoom, o.maxZoom, o.padding);
  // Too wide to fit even at the smallest zoom: show where the chain starts (its left edge),
  // not its middle.
  if ((x1 - x0) * v.zoom > width) return { ...v, x: EDGE - x0 * v.zoom };
  return v;
}

/** A ref for the graph's container and, once it is laid out and there are nodes, the fitted
 *  viewport for them: computed once per `key` (a new graph fits afresh, a pan is kept). */
export function useFittedViewport(key: string, nodes: Sized[], o: FitOptions) {
  const ref = useRef<HTMLDivElement>(null);
  const [fit, setFit] = useState<{ key: string; viewport: Viewport } | null>(null);
  const current = fit?.key === key ? fit.viewport : null;
  useLayoutEffect(() => {
    if (current || nodes.length === 0 || !ref.current) return;
    const box = ref.current.getBoundingClientRect();
    setFit({ key, viewport: fitted(nodes, box.width, box.height, o) });
  }, [current, key, nodes, o]);
  return { ref, viewport: current };
}

/** Marks (once per page) the first frame that draws a graph's nodes: the page's own
 *  "interactive" moments, which the perf script reads (`performance.getEntriesByName`). The
 *  nodes are presized, so they show in the frame after the commit that hands them over. */
export function MarkShown({ name }: { name: string }) {
  const some = useStore((s) => s.nodes.length > 0);
  useEffect(() => {
    if (!some || performance.getEntriesByName(name).length > 0) return;
    const frame = requestAnimationFrame(() => {
      if (performance.getEntriesByName(name).length === 0) performance.mark(name);
    });
    return () => cancelAnimationFrame(frame);
  }, [some, name]);
  return null;
}
