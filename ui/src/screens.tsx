// Screens other than Home load when first opened (the start-up parses only what Home draws), and
// once Home is up they preload in the background. A screen already loaded renders directly, not
// through React.lazy: a lazy component suspends on its first render even when its code is there,
// and React holds a suspended boundary's content back for ~300 ms after the fallback showed, so
// every first visit to a screen paid that wait.
import { lazy, type ComponentType, type JSX } from "react";

export interface Preloadable<P extends object> {
  (props: P): JSX.Element;
  preload: () => Promise<unknown>;
}

export function preloadable<P extends object>(load: () => Promise<ComponentType<P>>): Preloadable<P> {
  let ready: ComponentType<P> | null = null;
  let pending: Promise<ComponentType<P>> | null = null;
  const get = () =>
    (pending ??= load().then(
      (c) => (ready = c),
      (e: unknown) => {
        pending = null; // the next render tries again (and shows the error if it fails again)
        throw e;
      },
    ));
  const Lazy = lazy(() => get().then((c) => ({ default: c })));
  const Screen = (props: P) => {
    const Loaded = ready;
    return Loaded ? <Loaded {...props} /> : <Lazy {...props} />;
  };
  Screen.preload = () => get().catch(() => undefined);
  return Screen;
}

export const EnvironmentsScreen = preloadable(() => import("./components/EnvironmentsScreen").then((m) => m.EnvironmentsScreen));
export const PromotionScreen = preloadable(() => import("./components/PromotionScreen").then((m) => m.PromotionScreen));
export const RolloutPanel = preloadable(() => import("./components/RolloutPanel").then((m) => m.RolloutPanel));
export const RunsScreen = preloadable(() => import("./components/RunsScreen").then((m) => m.RunsScreen));
export const VersionsScreen = preloadable(() => import("./components/VersionsScreen").then((m) => m.VersionsScreen));
export const EditorScreen = preloadable(() => import("./components/EditorScreen").then((m) => m.EditorScreen));
export const GatesScreen = preloadable(() => import("./components/GatesScreen").then((m) => m.GatesScreen));

/** Load every screen's code, one after another: the light screens at once (a few kB each), those
 *  with the chart library (~0.5 MB to parse) a second later, when Home has long been drawn. */
export async function preloadScreens(): Promise<void> {
  for (const s of [EditorScreen, RunsScreen, EnvironmentsScreen, VersionsScreen]) await s.preload();
  await new Promise((resolve) => setTimeout(resolve, 1000));
  for (const s of [PromotionScreen, GatesScreen, RolloutPanel]) await s.preload();
}
