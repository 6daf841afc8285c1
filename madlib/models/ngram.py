"""A count-based n-gram language model, batched over replicates: exact counts, fast.

Counts live in sorted int64 key arrays (one per order), so fitting is one
``torch.unique`` per order and every lookup is a ``searchsorted``. Replicates are
part of the key, so R independent models are fitted and queried at once.

Smoothing:

* ``kneser_ney`` -- interpolated Kneser-Ney: absolute discount ``discount`` at every
  order, lower orders estimated from continuation counts (how many distinct tokens
  precede an n-gram), down to the uniform distribution;
* ``add_k`` -- add-``k`` on the full order only.

Both are proper distributions over the whole vocabulary (no zero probabilities).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ..core.validation import check_choice, check_float, check_int
from ..core.state import register_state_class

SMOOTHINGS = ("kneser_ney", "add_k")


@register_state_class
@dataclass
class _OrderTable:
    keys: torch.Tensor      # sorted (replicate, context, next) keys
    counts: torch.Tensor    # float64 counts (continuation counts below the top order)
    ctx_keys: torch.Tensor  # sorted (replicate, context) keys
    ctx_total: torch.Tensor  # sum of counts per context
    ctx_types: torch.Tensor  # number of distinct next tokens per context


def _ngram_ids(blocks: torch.Tensor, k: int, vocab: int) -> torch.Tensor:
    """Integer id of every k-gram inside each block: ``(R, N, L - k + 1)``."""
    windows = blocks.unfold(-1, k, 1)  # (R, N, L-k+1, k)
    powers = vocab ** torch.arange(k - 1, -1, -1, device=blocks.device, dtype=torch.long)
    return (windows * powers).sum(-1)


@register_state_class
class NGramModel:
    """R fitted n-gram models of order ``order`` over ``vocab_size`` tokens."""

    def __init__(self, order: int = 5, vocab_size: int = 256, smoothing: str = "kneser_ney",
                 discount: float = 0.75, add_k: float = 0.01):
        self.order = check_int("order", order, 1, 8)
        self.vocab_size = check_int("vocab_size", vocab_size, 2)
        self.smoothing = check_choice("smoothing", smoothing, SMOOTHINGS)
        self.discount = check_float("discount", discount, 0.0, 1.0, open_minimum=True)
        self.add_k = check_float("add_k", add_k, 0.0, open_minimum=True)
        if vocab_size ** order > 2**62 // 1024:
            raise ValueError(f"vocab_size**order ({vocab_size}**{order}) is too large for int64 keys")
        self.tables: list[_OrderTable] = []
        self.replicates = 0
        self._dense: dict[int, tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = {}

    # ------------------------------------------------------------------ fitting
    def fit(self, data: torch.Tensor, weights: torch.Tensor | None = None) -> "NGramModel":
        """Count every k-gram (k <= order) inside each block of ``data (R, N, L)``.

        ``weights (R, N)`` scale each block's counts (0 drops it); continuation counts
        (Kneser-Ney lower orders) count types of blocks with positive weight.
        """
        if data.ndim != 3:
            raise ValueError(f"data must have shape (R, N, L), got {tuple(data.shape)}")
        if data.numel() and (data.min() < 0 or data.max() >= self.vocab_size):
            raise ValueError(f"token ids must lie in [0, {self.vocab_size - 1}]")
        R, N, L = data.shape
        if L < self.order:
            raise ValueError(f"blocks of length {L} are shorter than the order {self.order}")
        self.replicates = R
        self._dense = {}
        V = self.vocab_size
        w = torch.ones(R, N, dtype=torch.float64, device=data.device) if weights is None else weights.double()
        if w.shape != (R, N):
            raise ValueError(f"weights must have shape {(R, N)}, got {tuple(w.shape)}")
        rep = torch.arange(R, device=data.device)[:, None, None]
        self.tables = [None] * self.order  # type: ignore[list-item]
        top_keys = None
        for k in range(self.order, 0, -1):
            ids = _ngram_ids(data, k, V)
            keys = rep * V**k + ids  # (R, N, L-k+1)
            if k == self.order or self.smoothing == "add_k":
                wk = w[:, :, None].expand_as(keys)
                uniq, inverse = torch.unique(keys.reshape(-1), return_inverse=True)
                counts = torch.zeros(uniq.numel(), dtype=torch.float64, device=data.device)
                counts.index_add_(0, inverse, wk.reshape(-1))
                keep = counts > 0
                uniq, counts = uniq[keep], counts[keep]
                if k == self.order:
                    top_keys = uniq
            else:
                # Continuation counts: the number of distinct tokens seen before each k-gram,
                # read off the distinct (k+1)-grams (Kneser-Ney's lower-order estimate).
                higher = self.tables[k].keys if k + 1 <= self.order else top_keys
                r_of, rest = higher // V ** (k + 1), higher % V ** (k + 1)
                suffix = r_of * V**k + rest % V**k
                uniq, counts = torch.unique(suffix, return_counts=True)
                counts = counts.double()
                # k-grams at the very start of a block have no predecessor: count them too,
                # so short histories still get mass.
                first = keys[:, :, 0][w > 0].reshape(-1)
                if first.numel():
                    merged = torch.cat([uniq, first.unique()])
                    add = torch.cat([counts, torch.ones(first.unique().numel(), dtype=torch.float64,
                                                         device=data.device)])
                    uniq, inverse = torch.unique(merged, return_inverse=True)
                    counts = torch.zeros(uniq.numel(), dtype=torch.float64, device=data.device).index_add_(0, inverse, add)
            ctx = uniq // V
            ctx_keys, ctx_inverse = torch.unique(ctx, return_inverse=True)
            ctx_total = torch.zeros(ctx_keys.numel(), dtype=torch.float64, device=data.device).index_add_(0, ctx_inverse, counts)
            ctx_types = torch.zeros(ctx_keys.numel(), dtype=torch.float64, device=data.device).index_add_(
                0, ctx_inverse, torch.ones_like(counts))
            self.tables[k - 1] = _OrderTable(uniq, counts, ctx_keys, ctx_total, ctx_types)
        return self

    # ------------------------------------------------------------------ lookups
    @staticmethod
    def _lookup(sorted_keys: torch.Tensor, values: torch.Tensor, query: torch.Tensor) -> torch.Tensor:
        if sorted_keys.numel() == 0:
            return torch.zeros(query.shape, dtype=torch.float64, device=query.device)
        pos = torch.searchsorted(sorted_keys, query).clamp_max(sorted_keys.numel() - 1)
        return torch.where(sorted_keys[pos] == query, values[pos], torch.zeros((), dtype=torch.float64,
                                                                               device=query.device))

    def count(self, ngram: torch.Tensor | list[int], replicate: int = 0) -> float:
        """Exact count of one n-gram (length <= order) in replicate ``replicate`` (raw counts at the top order)."""
        ngram = torch.as_tensor(ngram, dtype=torch.long)
        k = ngram.numel()
        if not 1 <= k <= self.order:
            raise ValueError(f"n-gram length must be in [1, {self.order}], got {k}")
        V = self.vocab_size
        key = replicate * V**k + int((ngram * V ** torch.arange(k - 1, -1, -1)).sum())
        table = self.tables[k - 1]
        dev = table.keys.device
        return float(self._lookup(table.keys, table.counts, torch.tensor([key], device=dev))[0])

    def _prob_of(self, replicate: torch.Tensor, history: torch.Tensor, hist_len: int, token: torch.Tensor) -> torch.Tensor:
        """p(token | last ``hist_len`` tokens of history) for matching shapes; ``history (..., hist_len)``."""
        V = self.vocab_size
        if self.smoothing == "add_k":
            table = self.tables[hist_len]
            k = hist_len + 1
            ctx = replicate * V**hist_len + (history * V ** torch.arange(hist_len - 1, -1, -1, device=history.device)).sum(-1)
            key = replicate * V**k + (ctx - replicate * V**hist_len) * V + token
            c = self._lookup(table.keys, table.counts, key)
            total = self._lookup(table.ctx_keys, table.ctx_total, ctx)
            return (c + self.add_k) / (total + self.add_k * V)
        p = torch.full(token.shape, 1.0 / V, dtype=torch.float64, device=token.device)
        d = self.discount
        for h in range(0, hist_len + 1):
            table = self.tables[h]
            hist = history[..., hist_len - h :]
            ctx_local = (hist * V ** torch.arange(h - 1, -1, -1, device=history.device)).sum(-1)
            ctx = replicate * V**h + ctx_local
            key = replicate * V ** (h + 1) + ctx_local * V + token
            c = self._lookup(table.keys, table.counts, key)
            total = self._lookup(table.ctx_keys, table.ctx_total, ctx)
            types = self._lookup(table.ctx_keys, table.ctx_types, ctx)
            safe = total.clamp_min(1e-300)
            mixed = (c - d).clamp_min(0) / safe + d * types / safe * p
            p = torch.where(total > 0, mixed, p)
        return p

    def token_log_probs(self, blocks: torch.Tensor) -> torch.Tensor:
        """log p(x_t | history) for t >= 1 of blocks ``(R, N, L)``: returns ``(R, N, L - 1)``.

        Position t uses min(t, order - 1) tokens of history (blocks are independent texts).
        """
        if blocks.ndim != 3 or blocks.shape[0] != self.replicates:
            raise ValueError(f"blocks must have shape ({self.replicates}, N, L), got {tuple(blocks.shape)}")
        R, N, L = blocks.shape
        rep = torch.arange(R, device=blocks.device)[:, None]
        out = torch.empty(R, N, L - 1, dtype=torch.float64, device=blocks.device)
        h = self.order - 1
        for t in range(1, min(h, L)):  # short histories at the start of a block
            out[:, :, t - 1] = self._prob_of(rep.expand(R, N), blocks[:, :, :t], t, blocks[:, :, t]).log()
        if L > h and L - 1 >= max(h, 1):
            windows = blocks.unfold(-1, h + 1, 1)  # (R, N, L-h, h+1): history + target
            if h == 0:
                windows = windows[:, :, 1:]
            targets = windows[..., -1]
            out[:, :, L - 1 - targets.shape[-1]:] = self._prob_of(
                rep[:, :, None].expand_as(targets), windows[..., :-1], h, targets).log()
        return out

    def perplexity(self, blocks: torch.Tensor) -> torch.Tensor:
        """Per-replicate perplexity of ``blocks (R, N, L)`` (tokens 1..L-1 predicted)."""
        return torch.exp(-self.token_log_probs(blocks).mean(dim=(1, 2)))

    def _dense_counts(self, table: _OrderTable, ctx: torch.Tensor, key_base: torch.Tensor) -> torch.Tensor:
        """Counts ``(B, V)`` of every next token after each context: the context's keys are one
        contiguous run ``[key_base, key_base + V)`` of the sorted key array."""
        B, V = ctx.shape[0], self.vocab_size
        lo = torch.searchsorted(table.keys, key_base)
        hi = torch.searchsorted(table.keys, key_base + V)
        width = int((hi - lo).max()) if B else 0
        dense = torch.zeros(B, V, dtype=torch.float64, device=ctx.device)
        if width == 0:
            return dense
        pos = lo[:, None] + torch.arange(width, device=ctx.device)
        valid = pos < hi[:, None]
        pos = pos.clamp_max(table.keys.numel() - 1)
        token = torch.where(valid, table.keys[pos] - key_base[:, None], torch.zeros((), dtype=torch.long,
                                                                                     device=ctx.device))
        return dense.scatter_add_(1, token, torch.where(valid, table.counts[pos], torch.zeros((), dtype=torch.float64,
                                                                                                device=ctx.device)))

    def _dense_table(self, h: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Counts ``(R * V**h, V)``, totals and type counts of every context of length ``h`` (h <= 1)."""
        if h not in self._dense:
            V, R = self.vocab_size, self.replicates
            table = self.tables[h]
            dev = table.keys.device
            counts = torch.zeros(R * V**h * V, dtype=torch.float64, device=dev)
            counts[table.keys] = table.counts
            total = torch.zeros(R * V**h, dtype=torch.float64, device=dev)
            total[table.ctx_keys] = table.ctx_total
            types = torch.zeros(R * V**h, dtype=torch.float64, device=dev)
            types[table.ctx_keys] = table.ctx_types
            self._dense[h] = (counts.view(R * V**h, V), total, types)
        return self._dense[h]

    def next_log_probs(self, tokens: torch.Tensor, replicate: torch.Tensor) -> torch.Tensor:
        """log-probabilities ``(B, V)`` of the next token after ``tokens (B, T)``, row b in model ``replicate[b]``."""
        B, T = tokens.shape
        V = self.vocab_size
        h_max = min(self.order - 1, T)
        levels = [h_max] if self.smoothing == "add_k" else range(0, h_max + 1)
        # float32 and in-place updates: this runs once per generated token for every sequence
        p = torch.full((B, V), 1.0 / V, dtype=torch.float32, device=tokens.device)
        for h in levels:
            table = self.tables[h]
            hist = tokens[:, T - h :]
            ctx_local = (hist * V ** torch.arange(h - 1, -1, -1, device=tokens.device)).sum(-1)
            ctx = replicate * V**h + ctx_local
            if h <= 1:  # short contexts: a dense (R * V**h, V) table, built once, is faster than lookups
                counts_all, total_all, types_all = self._dense_table(h)
                counts, total, types = counts_all[ctx], total_all[ctx][:, None], types_all[ctx][:, None]
            else:
                counts = self._dense_counts(table, ctx, replicate * V ** (h + 1) + ctx_local * V)
                total = self._lookup(table.ctx_keys, table.ctx_total, ctx)[:, None]
                types = self._lookup(table.ctx_keys, table.ctx_types, ctx)[:, None]
            counts, total, types = counts.float(), total.float(), types.float()
            inv_total = torch.where(total > 0, 1.0 / total.clamp_min(1e-30), torch.zeros_like(total))
            if self.smoothing == "add_k":
                p = (counts + self.add_k) / (total + self.add_k * V)
                break
            # p_h = max(c - d, 0) / c(h) + d N1+(h) / c(h) * p_{h-1}; unseen contexts keep p_{h-1}
            backoff = torch.where(total > 0, self.discount * types * inv_total, torch.ones_like(total))
            p.mul_(backoff).add_(counts.sub_(self.discount).clamp_min_(0).mul_(inv_total))
        return p.log_()
