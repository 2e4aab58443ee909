"""Scene tokens and what the grounded head reads off them: entities, their summaries and relations.

A scene is what perception reports per frame (the same layout whether it comes from the model's
own streams or, in bench/ceiling.py, from the synthetic ground truth):

  cols    [B, C, T, 3 + K]  per image column: performer present, its centre x (0..1), seen playing,
                            class probabilities (K = 22); one performer per column
  classes [B, K, T, 5]      per instrument class: heard, loudness, onsets, pitch, pitched
  glob    [B, T, 2]         voice-over, indoor

From these, `summarise` derives per-entity facts a question can ask about (when a source enters
and leaves, how loud, how many notes, where on screen) and the relations between entities that
the templates turn on (entry rank, how many performers stand to the left, overlap in time). They
are plain differentiable functions of the per-frame values, so perception errors flow through.
"""
from __future__ import annotations

import torch

COL_FEATS = ("present", "x", "playing")          # then K class probabilities
CLASS_FEATS = ("heard", "loudness", "onsets", "pitch", "pitched")
GLOBAL_FEATS = ("voice", "indoor")
THIRDS = ("left", "middle", "right")
SOFT = 0.04          # temperature of soft comparisons between entry times / positions (clip = 1)
SOFT_VALUE = 0.1     # ... between loudness / pitch values


def rbf(x: torch.Tensor, centres: torch.Tensor, width: float = 0.35) -> torch.Tensor:
    """Bump encoding of a count or rank: one feature per integer centre (readable by a linear map)."""
    return torch.exp(-((x.unsqueeze(-1) - centres) / width) ** 2)


def first_last(active: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Soft entry and exit times (0..1) of per-frame activity [..., T] in [0, 1]; 1 / 0 when silent.

    Entry: the expected time of the first active frame when frame t is active with probability
    a_t; the fraction of a window that is active moves the estimate inside the frame.
    """
    t = active.shape[-1]
    a = active.clamp(0, 1)
    times = (torch.arange(t, device=a.device, dtype=a.dtype) + 0.5) / t
    half = 0.5 / t

    def expected_first(a, times_in, late):
        before = torch.cumprod(torch.cat([torch.ones_like(a[..., :1]), 1 - a[..., :-1]], -1), -1)
        w = a * before
        return (w * times_in).sum(-1) + (1 - w.sum(-1)) * late

    entry = expected_first(a, times + half - 2 * half * a, 1.0)
    exit_ = expected_first(a.flip(-1), (times - half + 2 * half * a).flip(-1), 0.0)
    return entry, exit_


def soft_less(x: torch.Tensor, y: torch.Tensor, temp: float) -> torch.Tensor:
    """P(x < y), elementwise with broadcasting."""
    return torch.sigmoid((y - x) / temp)


def rank_among(value: torch.Tensor, weight: torch.Tensor, temp: float, exclude_self: bool = True) -> torch.Tensor:
    """[B, N] how many (weighted) entities have a smaller value than each entity."""
    less = soft_less(value.unsqueeze(1), value.unsqueeze(2), temp)   # [B, i, j] = P(v_j < v_i)
    if exclude_self:
        less = less * (1 - torch.eye(value.shape[1], device=value.device, dtype=value.dtype))
    return (less * weight.unsqueeze(1)).sum(-1)


def weighted_mean(x: torch.Tensor, w: torch.Tensor, dim: int = -1) -> torch.Tensor:
    return (x * w).sum(dim) / w.sum(dim).clamp(min=1e-4)


def soft_extreme(value: torch.Tensor, weight: torch.Tensor, temp: float, largest: bool) -> torch.Tensor:
    """[B] weighted soft min/max of value [B, N] over entities with weight [B, N] in [0, 1]."""
    sign = 1.0 if largest else -1.0
    logits = sign * value / temp + torch.log(weight.clamp(min=1e-6))
    return (logits.softmax(-1) * value).sum(-1)


def summarise(cols: torch.Tensor, classes: torch.Tensor, glob: torch.Tensor) -> dict[str, torch.Tensor]:
    """Per-entity facts (named tensors [B, N]) for class entities (`k_*`), columns (`c_*`) and the clip."""
    heard = classes[..., 0].clamp(0, 1)                               # [B, K, T]
    k_peak = heard.amax(-1)
    k_frac = heard.mean(-1)
    k_entry, k_exit = first_last(heard)
    k_loud = weighted_mean(classes[..., 1], heard)
    k_rate = classes[..., 2].sum(-1) / heard.sum(-1).clamp(min=0.25)
    pitched = classes[..., 4] * heard
    k_pitch = weighted_mean(classes[..., 3], pitched)
    k_pitched = pitched.sum(-1) / heard.sum(-1).clamp(min=1e-4)

    present = cols[..., 0].mean(-1).clamp(0, 1)                       # [B, C]
    x = weighted_mean(cols[..., 1], cols[..., 0].clamp(min=1e-4))
    playing = cols[..., 2].clamp(0, 1)                                # [B, C, T]
    c_peak = playing.amax(-1) * present
    c_frac = playing.mean(-1)
    c_entry, c_exit = first_last(playing)
    probs = cols[..., 3:].mean(2)                                     # [B, C, K] class per column
    own = probs * present.unsqueeze(-1)                               # performer of class k at c
    # A performer sounds when it is seen playing AND its class is heard: the picture alone cannot
    # tell a mime (or a player drowned out, or dubbed) from a player.
    c_heard = (probs * k_peak.unsqueeze(1)).sum(-1)                   # [B, C]
    c_sound = c_peak * c_heard
    # class facts seen on screen
    k_visible = own.sum(1)                                            # [B, K] performers of class k
    k_sounding = (own * c_sound.unsqueeze(-1)).sum(1)
    k_x = weighted_mean(x.unsqueeze(-1), own, dim=1)
    # when a class plays as seen on screen: the audio's view of it, from the picture (a second
    # opinion where the mixed audio is unclear; off-screen classes have none)
    seen = own * c_sound.unsqueeze(-1)                                # [B, C, K]
    k_vis_frac = weighted_mean(c_frac.unsqueeze(-1), seen, dim=1)
    k_vis_entry = weighted_mean(c_entry.unsqueeze(-1), seen, dim=1)
    k_vis_exit = weighted_mean(c_exit.unsqueeze(-1), seen, dim=1)
    # column facts heard through its class (audio has no columns)
    c_loud = (probs * k_loud.unsqueeze(1)).sum(-1)
    c_rate = (probs * k_rate.unsqueeze(1)).sum(-1)
    c_pitch = (probs * k_pitch.unsqueeze(1)).sum(-1)
    c_pitched = (probs * k_pitched.unsqueeze(1)).sum(-1)
    # Sources, as the templates count them: every sounding performer (a column) and every class
    # heard with no sounding performer of its own (off screen). Two violins are two sources.
    k_offscreen = k_peak * torch.exp(-3 * k_sounding)
    src_entry = torch.cat([c_entry, k_entry], -1)
    src_weight = torch.cat([c_sound, k_offscreen], -1)
    earlier = soft_less(src_entry.unsqueeze(1), c_entry.unsqueeze(2), SOFT)          # [B, C, C+K]
    c_src_rank = (earlier * src_weight.unsqueeze(1)).sum(-1) - 0.5 * c_sound           # minus itself
    not_own = torch.cat([1 - probs.transpose(1, 2), 1 - torch.eye(k_peak.shape[1], device=k_peak.device,
                                                                   dtype=k_peak.dtype).expand(len(k_peak), -1, -1)], -1)
    earlier_k = soft_less(src_entry.unsqueeze(1), k_entry.unsqueeze(2), SOFT)         # [B, K, C+K]
    k_src_rank = (earlier_k * src_weight.unsqueeze(1) * not_own).sum(-1)
    # relations among what is heard (classes) and what is on screen (columns)
    first_entry = soft_extreme(src_entry, src_weight, SOFT, largest=False)
    last_entry = soft_extreme(src_entry, src_weight, SOFT, largest=True)
    loudest = soft_extreme(k_loud, k_peak, SOFT_VALUE, largest=True)
    lowest = soft_extreme(k_pitch, k_peak * k_pitched, SOFT_VALUE, largest=False)
    return {
        "k_peak": k_peak, "k_frac": k_frac, "k_entry": k_entry, "k_exit": k_exit, "k_loud": k_loud,
        "k_rate": k_rate, "k_pitch": k_pitch, "k_pitched": k_pitched, "k_visible": k_visible,
        "k_sounding": k_sounding, "k_x": k_x, "k_vis_frac": k_vis_frac, "k_vis_entry": k_vis_entry,
        "k_vis_exit": k_vis_exit,
        "k_entry_rank": k_src_rank, "k_offscreen": k_offscreen,
        "k_exit_rank": rank_among(-k_exit, k_peak, SOFT),
        "k_loud_rank": rank_among(-k_loud, k_peak, SOFT_VALUE),
        "k_low_rank": rank_among(k_pitch, k_peak * k_pitched, SOFT_VALUE),
        "k_from_first": k_entry - first_entry.unsqueeze(-1), "k_from_last": k_entry - last_entry.unsqueeze(-1),
        "k_from_loudest": k_loud - loudest.unsqueeze(-1), "k_from_lowest": k_pitch - lowest.unsqueeze(-1),
        "c_present": present, "c_x": x, "c_peak": c_peak, "c_heard": c_heard, "c_sound": c_sound,
        "c_frac": c_frac, "c_entry": c_entry,
        "c_exit": c_exit, "c_loud": c_loud, "c_rate": c_rate, "c_pitch": c_pitch, "c_pitched": c_pitched,
        "c_left_of": rank_among(x, present, SOFT),                     # performers to its left
        "c_right_of": rank_among(-x, present, SOFT),
        "c_entry_rank": c_src_rank,
        "c_from_first": c_entry - first_entry.unsqueeze(-1), "c_from_last": c_entry - last_entry.unsqueeze(-1),
        "c_from_loudest": c_loud - loudest.unsqueeze(-1), "c_from_lowest": c_pitch - lowest.unsqueeze(-1),
        "c_probs": probs, "own": own,
        "g_heard": k_peak.sum(-1), "g_visible": present.sum(-1), "g_sounding": c_sound.sum(-1),
        "g_visible_classes": (1 - torch.exp(-3 * k_visible)).sum(-1),
        "g_offscreen": (k_peak * torch.exp(-3 * k_visible)).sum(-1), "g_sources": src_weight.sum(-1),
        "g_voice": glob[..., 0].amax(-1), "g_indoor": glob[..., 1].mean(-1),
        "heard": heard, "playing": playing,
    }


def thirds(x: torch.Tensor) -> torch.Tensor:
    """[..., 3] soft membership of a centre x in the left / middle / right third of the frame."""
    left = torch.sigmoid((1 / 3 - x) / 0.01)
    right = torch.sigmoid((x - 2 / 3) / 0.01)
    return torch.stack([left, (1 - left - right).clamp(min=0), right], -1)
