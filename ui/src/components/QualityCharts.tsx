import type { QualityScores } from "../bindings/QualityScores";

/** Each criterion against the threshold and the baseline, then inputs × criteria; a cell or an
 *  input's name opens its review when `onOpen` is given. */
export function QualityCharts({
  q,
  onOpen,
  selected,
}: {
  q: QualityScores;
  onOpen?: (input: string) => void;
  selected?: string | null;
}) {
  const width = 520;
  const row = 30;
  const left = 110;
  const scale = (v: number) => left + ((width - left - 44) * v) / 5;
  const height = q.criteria.length * row + 30;
  const criteria = q.criteria.map((c) => c.name);
  return (
    <section className="card quality" data-testid="quality-chart">
      <div className="quality-head">
        <h3>Quality</h3>
        <span className="muted">
          average <strong>{q.overall.toFixed(2)}</strong> · threshold {q.min_average.toFixed(1)}
          {q.baseline && <> · baseline {q.baseline}</>}
        </span>
      </div>
      <div className="quality-grid">
        <svg width={width} height={height} role="img" aria-label="score per criterion">
          {[1, 2, 3, 4, 5].map((t) => (
            <g key={t}>
              <line x1={scale(t)} x2={scale(t)} y1={0} y2={height - 20} className="grid-line" />
              <text x={scale(t)} y={height - 6} className="axis" textAnchor="middle">
                {t}
              </text>
            </g>
          ))}
          {q.criteria.map((c, i) => (
            <g key={c.name}>
              <text x={left - 8} y={i * row + 19} className="label" textAnchor="end">
                {c.name}
              </text>
              <rect
                x={left}
                y={i * row + 6}
                width={Math.max(0, scale(c.average) - left)}
                height={18}
                rx={4}
                className={c.average >= q.min_average ? "bar ok" : "bar bad"}
              >
                <title>{`${c.name}: ${c.average.toFixed(2)}`}</title>
              </rect>
              <text x={scale(c.average) + 4} y={i * row + 19} className="value">
                {c.average.toFixed(1)}
              </text>
              {c.baseline !== null && (
                <line
                  x1={scale(c.baseline)}
                  x2={scale(c.baseline)}
                  y1={i * row + 2}
                  y2={i * row + 28}
                  className="baseline"
                >
                  <title>{`baseline (${q.baseline ?? ""}): ${c.baseline.toFixed(2)}`}</title>
                </line>
              )}
            </g>
          ))}
          <line
            x1={scale(q.min_average)}
            x2={scale(q.min_average)}
            y1={0}
            y2={height - 20}
            className="threshold"
          >
            <title>{`threshold ${q.min_average}`}</title>
          </line>
        </svg>
        <table className="heatmap" data-testid="quality-heatmap">
          <thead>
            <tr>
              <th>input</th>
              {criteria.map((c) => (
                <th key={c}>{c}</th>
              ))}
            </tr>
          </thead>
          <tbody>
            {q.inputs.map((input) => (
              <tr key={input.input} className={selected === input.input ? "selected" : undefined}>
                <td className="input-name">
                  {onOpen ? (
                    <button className="link-button" data-testid={`heatmap-row-${input.input}`} onClick={() => onOpen(input.input)}>
                      {input.input}
                    </button>
                  ) : (
                    input.input
                  )}
                </td>
                {input.error ? (
                  <td colSpan={criteria.length} className="cell-error" title={input.error}>
                    {input.error}
                  </td>
                ) : (
                  criteria.map((c) => {
                    const cell = input.scores.find((s) => s.criterion === c);
                    const label = cell ? `${input.input}, ${c}: ${cell.score} of 5. ${cell.rationale}` : `${input.input}, ${c}: no score`;
                    return (
                      <td key={c} className={`cell score-${cell?.score ?? 0}`} title={cell ? `${c} ${cell.score}/5: ${cell.rationale}` : "no score"}>
                        {onOpen ? (
                          <button
                            className="cell-button"
                            data-testid={`heatmap-cell-${input.input}-${c}`}
                            aria-label={`${label} Open the review.`}
                            onClick={() => onOpen(input.input)}
                          >
                            {cell?.score ?? "–"}
                          </button>
                        ) : (
                          (cell?.score ?? "–")
                        )}
                      </td>
                    );
                  })
                )}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <div className="legend muted small">
        <span className="swatch threshold-swatch" /> threshold <span className="swatch baseline-swatch" /> baseline
        (deployed version) · {onOpen ? "click a cell (or press Enter on it) to read the rationale and the outputs" : "hover a cell for the reviewer's rationale"}
      </div>
    </section>
  );
}
