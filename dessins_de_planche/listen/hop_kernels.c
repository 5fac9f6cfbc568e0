/* Stage A's work on each block and hop (listen/hop_kernels.py says why, and how it is built).

   Every array is the caller's, C-contiguous float32 unless said; nothing is allocated. Built
   without -ffast-math and with -ffp-contract=off: each float32 operation rounds as numpy's did,
   in the order written here. */

#include <math.h>
#include <stdint.h>
#include <string.h>

typedef int64_t idx;

/* The listened channels of a block, already in `signal` (frames, channels): each channel's
   peak |sample|; a channel with a sample over `bad_level`, NaN or infinite is a gap (`bad`, its
   signal zeroed). Returns how many are. */
idx check_block(float *signal, idx frames, idx channels, float bad_level, float *peaks, uint8_t *bad)
{
    idx gaps = 0;
    for (idx ch = 0; ch < channels; ch++) {
        float peak = 0.0f;
        int broken = 0;
        for (idx i = 0; i < frames; i++) {
            float size = fabsf(signal[i * channels + ch]);
            if (!(size <= bad_level))
                broken = 1;
            else if (size > peak)
                peak = size;
        }
        peaks[ch] = peak;
        bad[ch] = (uint8_t)broken;
        if (broken) {
            gaps++;
            for (idx i = 0; i < frames; i++)
                signal[i * channels + ch] = 0.0f;
        }
    }
    return gaps;
}

/* `clean` = `signal` less the DC estimate ramping through the chunk from position `at`
   (ramp * dc_step + dc_from, per channel); the samples kept in `chunk_raw` from `at`. */
void less_dc(const float *signal, float *clean, idx frames, idx channels, float *chunk_raw, idx at,
             const float *ramp, const float *dc_step, const float *dc_from)
{
    for (idx i = 0; i < frames; i++) {
        float r = ramp[at + i];
        for (idx ch = 0; ch < channels; ch++) {
            float x = signal[i * channels + ch];
            chunk_raw[(at + i) * channels + ch] = x;
            float dc = r * dc_step[ch];
            dc = dc + dc_from[ch];
            clean[i * channels + ch] = x - dc;
        }
    }
}

/* The block's DC-free samples (`clean`, frames x channels) into each channel's history row
   (`history`, channels x (mask + 1)) at stream frame `start` on; each channel's energy, and its
   two-sample difference's (`raw`: the signal after the previous block's last two samples). */
void keep_block(const float *raw, const float *clean, idx frames, idx channels, float *history, idx mask,
                idx start, float *energy, float *diff_energy)
{
    for (idx ch = 0; ch < channels; ch++) {
        float *row = history + ch * (mask + 1);
        double e = 0.0, d = 0.0;
        for (idx i = 0; i < frames; i++) {
            float x = clean[i * channels + ch];
            row[(start + i) & mask] = x;
            e += x * x;
            float step = raw[(i + 2) * channels + ch] - raw[i * channels + ch];
            d += step * step;
        }
        energy[ch] = (float)e;
        diff_energy[ch] = (float)d;
    }
}

/* The band levels (dB) of `hops` hops whose windows end at stream frames first_end, first_end +
   hop, ... (`levels`, hops x channels x bands): the last `taps` samples of each channel's history
   before the window's end times the windowed DFT of their difference (`dft`, taps x columns:
   cosine columns, then sine), squared, summed into the bands of `bin_band` (each cosine column's
   band; -1: none), plus `eps`, in dB, and at least `clamp` (channels x bands). Where `reads`, each
   hop's energy under 300 Hz too (`low_energy`, channel-major: hop j of channel ch at
   ch * hops + j): the summed squares of the low-pass outputs `low_taps` (span x reads) gives on
   the window's last `span` samples. One hop at a time, in one order: any block size hears the
   same, bit for bit. Scratch: `samples` (the longer of taps and span), `spectrum` (columns). */
void band_levels(const float *history, idx mask, idx channels, idx first_end, idx hop, idx hops,
                 const float *dft, idx taps, idx columns, const idx *bin_band, idx bands, float eps,
                 const float *clamp, float *levels, float *samples, float *spectrum,
                 const float *low_taps, idx span, idx reads, float *low_energy)
{
    idx bins = columns / 2;
    idx gather = span > taps ? span : taps;
    for (idx ch = 0; ch < channels; ch++) {
        const float *row = history + ch * (mask + 1);
        for (idx j = 0; j < hops; j++) {
            idx end = first_end + j * hop;
            for (idx i = 0; i < gather; i++)
                samples[i] = row[(end - gather + i) & mask];
            memset(spectrum, 0, (size_t)columns * sizeof(float));
            for (idx i = 0; i < taps; i++) {
                float x = samples[gather - taps + i];
                const float *w = dft + i * columns;
                for (idx col = 0; col < columns; col++)
                    spectrum[col] += x * w[col];
            }
            float *level = levels + (j * channels + ch) * bands;
            memset(level, 0, (size_t)bands * sizeof(float));
            for (idx col = 0; col < bins; col++) {
                idx band = bin_band[col];
                if (band >= 0) {
                    float re = spectrum[col], im = spectrum[bins + col];
                    level[band] += re * re + im * im;
                }
            }
            for (idx b = 0; b < bands; b++) {
                float db = 10.0f * log10f(level[b] + eps);
                float low = clamp[ch * bands + b];
                level[b] = db > low ? db : low;
            }
            if (reads) {
                float energy = 0.0f;
                for (idx r = 0; r < reads; r++) {
                    float out = 0.0f;
                    for (idx i = 0; i < span; i++)
                        out += samples[gather - span + i] * low_taps[i * reads + r];
                    energy += out * out;
                }
                low_energy[ch * hops + j] = energy;
            }
        }
    }
}

/* Each band's expected tail one hop on (`ref`, `cells` = channels x bands, in place): its
   decaying peak less `decay`, and at least the loudest of the `holds` held hops (`held`, holds x
   cells), `lagged` stored first in held row `slot`. */
void move_tails(float *ref, float *held, idx holds, idx cells, idx slot, const float *lagged, float decay)
{
    memcpy(held + slot * cells, lagged, (size_t)cells * sizeof(float));
    for (idx i = 0; i < cells; i++) {
        float loudest = held[i];
        for (idx h = 1; h < holds; h++)
            if (held[h * cells + i] > loudest)
                loudest = held[h * cells + i];
        float tail = ref[i] - decay;
        ref[i] = tail >= loudest ? tail : loudest;
    }
}

/* Each band's noise floor one hop on (`cells` = channels x bands): the smoothed level moves
   toward this hop's, and the floor (a running low quantile) rises by up_and_down - down where
   the smoothed level is over it and falls by `down` elsewhere; the level kept in `kept` (the
   ring of recent hops' levels) for the tails to come. */
void follow_floor(const float *level, float *smooth, float *bg, idx cells, float smooth_a, float down,
                  float up_and_down, float *kept)
{
    memcpy(kept, level, (size_t)cells * sizeof(float));
    for (idx i = 0; i < cells; i++) {
        float step = level[i] - smooth[i];
        step = step * smooth_a;
        float smoothed = smooth[i] + step;
        smooth[i] = smoothed;
        float floor = bg[i] - down;
        bg[i] = smoothed > bg[i] ? floor + up_and_down : floor;
    }
}

/* The learned score's features of this hop (onset.OnsetScore.update), in place in `x` (channels
   rows of `row` floats): the older rises over the tail move back a group of `stride`, this
   hop's rises over the tail, the noise floor and the level floor are set (groups `back`, `back` +
   1, `back` + 2); `rises`: each channel's summed rise over the tail, clipped to 0..cap_db, of the
   bands over `near_db` from the level floor; `loudest`: its most over the level floor of the
   level group's every column. Where not NULL, the level kept in `past_row` (the recent mean's
   ring) and each channel's energy under 300 Hz (`low`, a channel every `low_stride`) in
   `low_row` (the low view's ring). */
void onset_features(float *x, idx row, idx stride, idx back, idx channels, idx bands, const float *level,
                    const float *ref, const float *bg, const float *floor, float near_db, float cap_db,
                    float *rises, float *loudest, float *past_row, const float *low, idx low_stride,
                    float *low_row)
{
    idx now = back * stride;
    if (past_row)
        memcpy(past_row, level, (size_t)(channels * bands) * sizeof(float));
    for (idx ch = 0; low && ch < channels; ch++)
        low_row[ch] = low[ch * low_stride];
    for (idx ch = 0; ch < channels; ch++) {
        float *xc = x + ch * row;
        memmove(xc, xc + stride, (size_t)now * sizeof(float));
        const float *lv = level + ch * bands, *rf = ref + ch * bands, *bk = bg + ch * bands,
                    *fl = floor + ch * bands;
        float total = 0.0f;
        for (idx j = 0; j < bands; j++) {
            float tail = lv[j] - rf[j];
            float over_floor = lv[j] - fl[j];
            xc[now + j] = tail;
            xc[now + stride + j] = lv[j] - bk[j];
            xc[now + 2 * stride + j] = over_floor;
            if (over_floor > near_db) {
                float rise = tail > 0.0f ? tail : 0.0f;
                total += rise < cap_db ? rise : cap_db;
            }
        }
        rises[ch] = total;
        float top = xc[now + 2 * stride];
        for (idx j = 1; j < stride; j++)
            if (xc[now + 2 * stride + j] > top)
                top = xc[now + 2 * stride + j];
        loudest[ch] = top;
    }
}

/* The learned score of every channel (onset.OnsetScore.evaluate), into the last layer's first
   output. First the features only the scored hops need, into `x` (channels rows of `row`
   floats, `width` features then a constant 1): each band's rise over its recent mean (where
   `window_n`: the mean of the `past` rows `window` names, summed oldest first, subtracted from
   row `slot`, from column `mean_at`), and the lowest band's longer view (where `low_rows`: the
   window means `low_means` (low_rows x history) of the energies `low_past` (history x channels)
   in dB, each of the first half's over its second's, from column `low_at`); then every feature
   clipped to lowest..highest, and the `layers` layers (weights[l]: inputs[l] x outputs[l], the
   biases as their last rows; hidden[l]: channels x outputs[l]), each but the last through a
   ReLU. */
void onset_scores(float *x, idx channels, idx row, idx width, const float *lowest, const float *highest,
                  const float *past, idx bands, const idx *window, idx window_n, idx slot, float inverse,
                  idx mean_at, const float *low_means, idx low_rows, idx history, const float *low_past,
                  float low_eps, idx low_at, idx layers, const float *const *weights, const idx *inputs,
                  const idx *outputs, float *const *hidden)
{
    idx cells = channels * bands, half = low_rows / 2;
    for (idx ch = 0; ch < channels; ch++) {
        float *xc = x + ch * row;
        for (idx b = 0; window_n && b < bands; b++) {
            idx at = ch * bands + b;
            float total = past[window[0] * cells + at];
            for (idx i = 1; i < window_n; i++)
                total += past[window[i] * cells + at];
            xc[mean_at + b] = past[slot * cells + at] - total * inverse;
        }
        for (idx f = 0; f < half; f++) {
            float newer = 0.0f, older = 0.0f;
            for (idx i = 0; i < history; i++) {
                newer += low_means[f * history + i] * low_past[i * channels + ch];
                older += low_means[(half + f) * history + i] * low_past[i * channels + ch];
            }
            xc[low_at + f] = 10.0f * log10f(newer + low_eps) - 10.0f * log10f(older + low_eps);
        }
        for (idx i = 0; i < width; i++) {
            float v = xc[i];
            v = v >= lowest[i] ? v : lowest[i];
            xc[i] = v <= highest[i] ? v : highest[i];
        }
    }
    const float *source = x;
    idx source_row = row;
    for (idx l = 0; l < layers; l++) {
        const float *w = weights[l];
        float *out = hidden[l];
        idx n_in = inputs[l], n_out = outputs[l];
        for (idx ch = 0; ch < channels; ch++) {
            float *o = out + ch * n_out;
            const float *s = source + ch * source_row;
            memset(o, 0, (size_t)n_out * sizeof(float));
            for (idx i = 0; i < n_in; i++) {
                float v = s[i];
                const float *wi = w + i * n_out;
                for (idx j = 0; j < n_out; j++)
                    o[j] += v * wi[j];
            }
            if (l < layers - 1)
                for (idx j = 0; j < n_out; j++)
                    if (o[j] < 0.0f)
                        o[j] = 0.0f;
        }
        source = out;
        source_row = n_out;
    }
}
