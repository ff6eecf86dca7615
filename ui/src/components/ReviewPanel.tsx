import { useEffect, useRef, useState } from "react";
import Markdown from "react-markdown";
import { diffLines } from "diff";
import * as backend from "../backend";
import { toApiError } from "../backend";
import type { ApiError } from "../bindings/ApiError";
import type { CellScore } from "../bindings/CellScore";
import type { ReviewSide } from "../bindings/ReviewSide";
import type { ReviewView } from "../bindings/ReviewView";

interface Props {
  root: string;
  chain: string;
  env: string;
  /** The version the scores are of (tag or hash). */
  version: string;
  /** Every input of the report, in the heatmap's order (arrows move between them). */
  inputs: string[];
  input: string;
  onMove: (input: string) => void;
  onClose: () => void;
}

/** JSON is shown pretty; anything else as Markdown (raw HTML in it is never rendered). */
export function Output({ text }: { text: string }) {
  let pretty: string | null = null;
  const trimmed = text.trim();
  if (trimmed.startsWith("{") || trimmed.startsWith("[")) {
    try {
      pretty = JSON.stringify(JSON.parse(trimmed), null, 2);
    } catch {
      pretty = null;
    }
  }
  if (pretty !== null) return <pre className="review-json" tabIndex={0}>{pretty}</pre>;
  return (
    <div className="review-markdown" tabIndex={0}>
      <Markdown
        skipHtml
        components={{
          // A link in a model's output is shown, never followed from inside the app.
          a: ({ children, href }) => (
            <span className="output-link" title={href}>
              {children}
              {href ? ` (${href})` : ""}
            </span>
          ),
          img: ({ alt, src }) => <span className="output-link">[image: {alt || src}]</span>,
        }}
      >
        {text}
      </Markdown>
    </div>
  );
}

/** The scores of one side, each with the reviewer's rationale; the other side's beside it. */
function Scores({ mine, theirs }: { mine: CellScore[]; theirs: CellScore[] | null }) {
  return (
    <table className="review-scores">
      <tbody>
        {mine.map((s) => {
          const other = theirs?.find((t) => t.criterion === s.criterion);
          const delta = other ? s.score - other.score : 0;
          return (
            <tr key={s.criterion} className={delta < 0 ? "worse" : delta > 0 ? "better" : ""}>
              <th scope="row">{s.criterion}</th>
              <td className={`cell score-${s.score}`}>{s.score}</td>
              <td className="rationale">
                {s.rationale}
                {other && delta !== 0 && (
                  <span className={`delta ${delta < 0 ? "bad" : "ok"}`}>
                    {" "}
                    ({delta > 0 ? "+" : ""}
                    {delta} vs deployed)
                  </span>
                )}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

function Side({ side, title, theirs, testid }: { side: ReviewSide; title: string; theirs: CellScore[] | null; testid: string }) {
  return (
    <section className="review-side" data-testid={testid} aria-label={title}>
      <h4>{title}</h4>
      {side.error && <p className="cell-error">Not scored: {side.error}</p>}
      {side.scores.length > 0 && <Scores mine={side.scores} theirs={theirs} />}
      {side.output !== null ? (
        <>
          <Output text={side.output} />
          {side.output_cut && <p className="muted small">Cut at 64 KiB: the run's output file holds the rest.</p>}
        </>
      ) : (
        <p className="muted">{side.missing ?? "No output."}</p>
      )}
    </section>
  );
}

/** The candidate's output against the deployed version's, line by line. */
function Changes({ before, after }: { before: string; after: string }) {
  const parts = diffLines(before, after);
  if (parts.every((p) => !p.added && !p.removed)) return <p className="muted">The two outputs are the same.</p>;
  return (
    <pre className="review-diff" data-testid="review-diff" tabIndex={0} aria-label="the change in the output">
      {parts.map((p, i) =>
        p.added ? (
          <ins key={i}>{p.value}</ins>
        ) : p.removed ? (
          <del key={i}>{p.value}</del>
        ) : (
          <span key={i}>{p.value}</span>
        ),
      )}
    </pre>
  );
}

/** One quality input as the reviewer saw it: the input, the candidate's output and scores with
 *  the rationale, and the deployed version's for the same input. */
export function ReviewPanel({ root, chain, env, version, inputs, input, onMove, onClose }: Props) {
  const [review, setReview] = useState<ReviewView | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const panel = useRef<HTMLElement>(null);
  const at = inputs.indexOf(input);

  useEffect(() => {
    let live = true;
    setReview(null);
    setError(null);
    backend.reviewInput(root, chain, env, version, input).then(
      (r) => live && setReview(r),
      (e) => live && setError(toApiError(e)),
    );
    return () => {
      live = false;
    };
  }, [root, chain, env, version, input]);

  useEffect(() => {
    panel.current?.focus();
  }, []);

  const move = (by: number) => {
    const next = inputs[at + by];
    if (next !== undefined) onMove(next);
  };

  return (
    <section
      className="card review-panel"
      data-testid="review-panel"
      role="region"
      aria-label={`review of ${input}`}
      tabIndex={-1}
      ref={panel}
    >
      <div className="review-head">
        <h3>
          {input} <span className="muted small">input {at + 1} of {inputs.length}</span>
        </h3>
        <span className="muted small">↑ ↓ move between inputs · Esc closes</span>
        <button onClick={() => move(-1)} disabled={at <= 0} aria-label="previous input">
          ↑ Previous
        </button>
        <button onClick={() => move(1)} disabled={at >= inputs.length - 1} aria-label="next input">
          ↓ Next
        </button>
        <button onClick={onClose} data-testid="review-close">
          Close
        </button>
      </div>
      {error && (
        <div className="error-box" role="alert">
          <strong>{error.code}</strong> {error.message}
        </div>
      )}
      {!review && !error && <p className="muted">Loading the outputs…</p>}
      {review && (
        <>
          <details className="review-input" open>
            <summary>Input</summary>
            {review.input_text !== null ? (
              <pre tabIndex={0} aria-label="the input">{review.input_text}</pre>
            ) : (
              <p className="muted">The run's input is not readable on this machine.</p>
            )}
          </details>
          <div className="review-sides">
            <Side
              side={review.candidate}
              title={`${review.candidate.version} — this version`}
              theirs={review.baseline?.scores ?? null}
              testid="review-output"
            />
            {review.baseline ? (
              <Side
                side={review.baseline}
                title={`${review.baseline.version} — deployed in ${env}`}
                theirs={null}
                testid="review-baseline"
              />
            ) : (
              <section className="review-side" data-testid="review-baseline">
                <h4>Deployed version</h4>
                <p className="muted">
                  Nothing deployed in {env} was scored on this input, so there is no answer to compare with. Once a version
                  is deployed here and gated, its output appears beside this one.
                </p>
              </section>
            )}
          </div>
          {review.baseline?.output != null && review.candidate.output !== null && (
            <details className="review-changes" open>
              <summary>What changed in the output (deployed → this version)</summary>
              <Changes before={review.baseline.output} after={review.candidate.output} />
            </details>
          )}
        </>
      )}
    </section>
  );
}
