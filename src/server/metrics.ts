/**
 * A small Prometheus registry (text exposition format 0.0.4): counters and one latency
 * histogram, enough for `serve` without a metrics dependency.
 */
type Labels = Record<string, string>

const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]

/** A label value as the exposition format quotes it; most have nothing to escape (it runs twice a request). */
const escapeLabel = (v: string): string =>
  /[\\"\n]/.test(v)
    ? v
        .replaceAll('\\', '\\\\')
        .replaceAll('"', String.raw`\"`)
        .replaceAll('\n', String.raw`\n`)
    : v

const labelText = (labels: Labels): string => {
  let text = ''
  for (const k of Object.keys(labels)) text += `${text ? ',' : ''}${k}="${escapeLabel(labels[k])}"`
  return text ? `{${text}}` : ''
}

class Counter {
  private readonly values = new Map<string, {labels: Labels; value: number}>()

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly type: 'counter' | 'gauge' = 'counter',
  ) {}

  /** A gauge's value now (summed over workers like a counter: each holds its own share). */
  set(value: number, labels: Labels = {}): void {
    this.values.set(labelText(labels), {labels, value})
  }

  inc(labels: Labels = {}, by = 1): void {
    const key = labelText(labels)
    const entry = this.values.get(key) ?? {labels, value: 0}
    entry.value += by
    this.values.set(key, entry)
  }

  /** Adds another process's values (a snapshot) to these. */
  absorb(entries: Array<{labels: Labels; value: number}>): void {
    for (const {labels, value} of entries) this.inc(labels, value)
  }

  snapshot(): Array<{labels: Labels; value: number}> {
    return [...this.values.values()]
  }

  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} ${this.type}`]
    for (const {labels, value} of this.values.values()) lines.push(`${this.name}${labelText(labels)} ${value}`)
    return lines.join('\n')
  }
}

class Histogram {
  private readonly series = new Map<string, {counts: number[]; labels: Labels; sum: number; total: number}>()

  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  observe(labels: Labels, seconds: number): void {
    const key = labelText(labels)
    const s = this.series.get(key) ?? {counts: BUCKETS.map(() => 0), labels, sum: 0, total: 0}
    for (const [i, le] of BUCKETS.entries()) if (seconds <= le) s.counts[i]++
    s.sum += seconds
    s.total++
    this.series.set(key, s)
  }

  absorb(series: Array<{counts: number[]; labels: Labels; sum: number; total: number}>): void {
    for (const other of series) {
      const key = labelText(other.labels)
      const s = this.series.get(key) ?? {counts: BUCKETS.map(() => 0), labels: other.labels, sum: 0, total: 0}
      for (const i of BUCKETS.keys()) s.counts[i] += other.counts[i] ?? 0
      s.sum += other.sum
      s.total += other.total
      this.series.set(key, s)
    }
  }

  snapshot(): Array<{counts: number[]; labels: Labels; sum: number; total: number}> {
    return [...this.series.values()]
  }

  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`]
    for (const s of this.series.values()) {
      for (const [i, le] of BUCKETS.entries())
        lines.push(`${this.name}_bucket${labelText({...s.labels, le: String(le)})} ${s.counts[i]}`)
      lines.push(
        `${this.name}_bucket${labelText({...s.labels, le: '+Inf'})} ${s.total}`,
        `${this.name}_sum${labelText(s.labels)} ${s.sum}`,
        `${this.name}_count${labelText(s.labels)} ${s.total}`,
      )
    }

    return lines.join('\n')
  }
}

export class Metrics {
  readonly duration = new Histogram('jwtis_http_request_duration_seconds', 'HTTP request latency by route.')
  readonly issued = new Counter('jwtis_tokens_issued_total', 'Access tokens issued (by issue_token).')
  readonly limited = new Counter(
    'jwtis_auth_limiter_addresses',
    'Client addresses (IPv6: /64 blocks) whose failed authentications are being counted; bounded.',
    'gauge',
  )
  /** Read just before each render or snapshot: the gauges' sources. */
  sample?: () => void
  readonly rejected = new Counter('jwtis_tokens_rejected_total', 'Tokens rejected, by reason code.')
  readonly renewed = new Counter('jwtis_tokens_renewed_total', 'Refresh tokens exchanged (by renew_token).')
  readonly requests = new Counter('jwtis_http_requests_total', 'HTTP requests by route, method and status.')
  readonly reuse = new Counter(
    'jwtis_refresh_reuse_detected_total',
    'Spent refresh tokens presented again (their family was revoked).',
  )

  /**
   * The sum of several processes' metrics (`serve` workers): what one scrape of /metrics must
   * show, whichever worker answers it.
   */
  static merged(snapshots: MetricsSnapshot[]): Metrics {
    const total = new Metrics()
    for (const snap of snapshots) {
      total.duration.absorb(snap.duration)
      for (const name of ['issued', 'limited', 'rejected', 'renewed', 'requests', 'reuse'] as const)
        total[name].absorb(snap[name] ?? [])
    }

    return total
  }

  render(): string {
    this.sample?.()
    const all = [this.requests, this.duration, this.issued, this.renewed, this.rejected, this.reuse, this.limited]
    return `${all.map((m) => m.render()).join('\n')}\n`
  }

  snapshot(): MetricsSnapshot {
    this.sample?.()
    return {
      duration: this.duration.snapshot(),
      issued: this.issued.snapshot(),
      limited: this.limited.snapshot(),
      rejected: this.rejected.snapshot(),
      renewed: this.renewed.snapshot(),
      requests: this.requests.snapshot(),
      reuse: this.reuse.snapshot(),
    }
  }
}

export interface MetricsSnapshot {
  duration: ReturnType<Histogram['snapshot']>
  issued: ReturnType<Counter['snapshot']>
  limited?: ReturnType<Counter['snapshot']>
  rejected: ReturnType<Counter['snapshot']>
  renewed: ReturnType<Counter['snapshot']>
  requests: ReturnType<Counter['snapshot']>
  reuse: ReturnType<Counter['snapshot']>
}
