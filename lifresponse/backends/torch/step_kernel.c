/* The exact simulator's step loop for the CPU: a batch of images through a feedforward network
 * of iaf_psc_exp / iaf_psc_delta layers, with the neuron update (equations, order and
 * floating-point operations) of lifresponse/backends/torch.py (NEST 3.10's), one image per
 * OpenMP thread at a time so that an image's whole state stays in the core's cache. Arriving
 * weights are summed presynaptic neuron by neuron (step_kernel.py says what that may change).
 *
 * Compiled by lifresponse/backends/step_kernel.py with -ffp-contract=off (no fused
 * multiply-adds: NEST's and torch's operations round after every multiplication) and REAL
 * defined as double or float.
 *
 * Synapses into layer i are a CSR table over the previous layer's neurons (the input for
 * layer 0): row s lists the targets of neuron s and their weights (pA into iaf_psc_exp, an
 * inhibitory target numbered n_out + post; mV into iaf_psc_delta). Within a step the layers are
 * updated from the last to the first, so each layer reads the previous layer's spikes of the
 * step before (the one-step delay) before that layer overwrites them.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifndef REAL
#define REAL double
#endif

enum { P22, P21EX, P21IN, P11EX, P11IN, THETA, V_RESET, N_CONSTANTS };

typedef struct {
    int64_t n_out, n_pre;
    int32_t delta;            /* 1: iaf_psc_delta, 0: iaf_psc_exp */
    int32_t refractory_steps;
    REAL c[N_CONSTANTS];
    const REAL *drive;        /* constant drive per neuron and step (mV) */
    const int64_t *row;       /* n_pre + 1 offsets into target / weight */
    const int32_t *target;
    const REAL *weight;
    const double *fan_out;    /* synapses leaving each neuron of this layer */
    int32_t *counts;          /* out: (batch, n_out) */
} Layer;

typedef struct {
    REAL *v, *i_ex, *i_in, *arriving;
    int32_t *refractory, *spiked;
    uint8_t *flag;            /* n_out + 8, so that flags are read eight at a time */
    int64_t n_spiked;
} State;

/* Add the weights of the synapses of the n neurons in `source` (each spiking count[k] times
 * in this step, or once if count is NULL: as in the torch operations, weight x count) to
 * `arriving`, neuron by neuron in the order given. */
static void add_arrivals(const Layer *layer, const int32_t *source, const int32_t *count,
                         int64_t n, REAL *arriving) {
    for (int64_t k = 0; k < n; k++) {
        const int32_t s = source[k];
        if (count == NULL) {
            for (int64_t e = layer->row[s]; e < layer->row[s + 1]; e++)
                arriving[layer->target[e]] += layer->weight[e];
        } else {
            const REAL times = (REAL)count[k];
            for (int64_t e = layer->row[s]; e < layer->row[s + 1]; e++)
                arriving[layer->target[e]] += layer->weight[e] * times;
        }
    }
}

/* One step of n neurons; ex and in (the weights that arrived, excitatory and inhibitory) are
 * read and cleared for the next step. The loop has no branches, so that the compiler
 * vectorises it for the CPU it is compiled on: the refractory and the spiking neurons are
 * chosen by selects; an iaf_psc_delta layer adds its arrivals to V (into_v = 1, and its
 * p21 = 0, so the current terms add exactly 0). */
static void update_neurons(int64_t n, const REAL *restrict c, const REAL *restrict drive,
                           REAL into_v, int32_t refractory_steps, REAL *restrict v,
                           REAL *restrict i_ex, REAL *restrict i_in, REAL *restrict ex,
                           REAL *restrict in, int32_t *restrict refractory,
                           uint8_t *restrict flag) {
    const REAL p22 = c[P22], p21ex = c[P21EX], p21in = c[P21IN], p11ex = c[P11EX];
    const REAL p11in = c[P11IN], theta = c[THETA], v_reset = c[V_RESET];
    for (int64_t j = 0; j < n; j++) {
        const REAL old = v[j];
        REAL next = (((old * p22 + i_ex[j] * p21ex) + i_in[j] * p21in) + drive[j])
                    + ex[j] * into_v;
        const int32_t r = refractory[j];
        next = r > 0 ? old : next;
        i_ex[j] = i_ex[j] * p11ex + ex[j];
        i_in[j] = i_in[j] * p11in + in[j];
        const int spike = next >= theta;
        v[j] = spike ? v_reset : next;
        refractory[j] = spike ? refractory_steps : (r > 0 ? r - 1 : 0);
        flag[j] = (uint8_t)spike;
        ex[j] = 0;
        in[j] = 0;
    }
}

/* One step of a layer: its neurons, then the list of those that spiked. */
static void update(const Layer *layer, State *st) {
    const int64_t n = layer->n_out;
    REAL c[N_CONSTANTS];
    memcpy(c, layer->c, sizeof c);
    if (layer->delta) c[P21EX] = c[P21IN] = 0;
    update_neurons(n, c, layer->drive, layer->delta ? 1 : 0, layer->refractory_steps, st->v,
                   st->i_ex, st->i_in, st->arriving, st->arriving + n, st->refractory,
                   st->flag);
    int64_t n_spiked = 0;
    for (int64_t j = 0; j < n; j += 8) {  /* eight flags at a time: most are zero */
        uint64_t word;
        memcpy(&word, st->flag + j, sizeof word);
        for (int64_t k = j; word != 0 && k < j + 8 && k < n; k++)
            if (st->flag[k]) st->spiked[n_spiked++] = (int32_t)k;
    }
    st->n_spiked = n_spiked;
}

/* Simulate images 0..batch-1 for `steps` steps. Input spikes of image b arriving in step t are
 * in_neuron/in_count[in_ptr[b (steps + 1) + t] ... in_ptr[b (steps + 1) + t + 1]] (pixel,
 * number of spikes). Writes each layer's counts, the last layer's counts per (image, bin,
 * neuron) into by_time, and the synaptic events each layer's spikes cause per bin, summed over
 * the batch, into events (n_layers, n_bins), adding to what is there. If spike_log is given,
 * every spike is also logged there as (image, layer, neuron, step), the first log_capacity of
 * them; *logged counts them all. Returns 0, or -1 if memory ran out. */
int simulate(int64_t n_layers, const Layer *layers, int64_t batch, int64_t steps,
             const int64_t *in_ptr, const int32_t *in_neuron, const int32_t *in_count,
             const int32_t *bin_of_step, int64_t n_bins, uint16_t *by_time, double *events,
             int32_t *spike_log, int64_t log_capacity, int64_t *logged, int threads) {
    int failed = 0;
    const Layer *last = &layers[n_layers - 1];
#pragma omp parallel num_threads(threads)
    {
        State *st = calloc((size_t)n_layers, sizeof(State));
        double *my_events = calloc((size_t)(n_layers * n_bins), sizeof(double));
        int ok = st != NULL && my_events != NULL;
        for (int64_t i = 0; ok && i < n_layers; i++) {
            const int64_t n = layers[i].n_out;
            st[i].v = malloc((size_t)n * sizeof(REAL));
            st[i].i_ex = malloc((size_t)n * sizeof(REAL));
            st[i].i_in = malloc((size_t)n * sizeof(REAL));
            st[i].arriving = malloc((size_t)(2 * n) * sizeof(REAL));
            st[i].refractory = malloc((size_t)n * sizeof(int32_t));
            st[i].spiked = malloc((size_t)n * sizeof(int32_t));
            st[i].flag = calloc((size_t)(n + 8), 1);
            ok = st[i].v && st[i].i_ex && st[i].i_in && st[i].arriving && st[i].refractory
                 && st[i].spiked && st[i].flag;
        }
        if (!ok) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp for schedule(dynamic, 1)
        for (int64_t b = 0; b < batch; b++) {
            if (!ok) continue;
            for (int64_t i = 0; i < n_layers; i++) {  /* every image starts from rest */
                const int64_t n = layers[i].n_out;
                memset(st[i].v, 0, (size_t)n * sizeof(REAL));
                memset(st[i].i_ex, 0, (size_t)n * sizeof(REAL));
                memset(st[i].i_in, 0, (size_t)n * sizeof(REAL));
                memset(st[i].refractory, 0, (size_t)n * sizeof(int32_t));
                memset(st[i].arriving, 0, (size_t)(2 * n) * sizeof(REAL));
                st[i].n_spiked = 0;
            }
            for (int64_t t = 0; t < steps; t++) {
                const int64_t bin = bin_of_step[t];
                for (int64_t i = n_layers - 1; i >= 0; i--) {
                    const Layer *layer = &layers[i];
                    State *s = &st[i];
                    if (i == 0) {
                        const int64_t from = in_ptr[b * (steps + 1) + t];
                        const int64_t to = in_ptr[b * (steps + 1) + t + 1];
                        add_arrivals(layer, in_neuron + from, in_count + from, to - from,
                                     s->arriving);
                    } else {
                        add_arrivals(layer, st[i - 1].spiked, NULL, st[i - 1].n_spiked,
                                     s->arriving);
                    }
                    update(layer, s);
                    int32_t *counts = layer->counts + b * layer->n_out;
                    double caused = 0.0;
                    for (int64_t k = 0; k < s->n_spiked; k++) {
                        counts[s->spiked[k]] += 1;
                        caused += layer->fan_out[s->spiked[k]];
                    }
                    my_events[i * n_bins + bin] += caused;
                    for (int64_t k = 0; spike_log != NULL && k < s->n_spiked; k++) {
                        int64_t at;
#pragma omp atomic capture
                        at = (*logged)++;
                        if (at < log_capacity) {
                            int32_t *entry = spike_log + 4 * at;
                            entry[0] = (int32_t)b; entry[1] = (int32_t)i;
                            entry[2] = s->spiked[k]; entry[3] = (int32_t)t;
                        }
                    }
                    if (layer == last)
                        for (int64_t k = 0; k < s->n_spiked; k++)
                            by_time[(b * n_bins + bin) * last->n_out + s->spiked[k]] += 1;
                }
            }
        }
        if (my_events != NULL) {
#pragma omp critical
            for (int64_t k = 0; k < n_layers * n_bins; k++) events[k] += my_events[k];
        }
        for (int64_t i = 0; st != NULL && i < n_layers; i++) {
            free(st[i].v); free(st[i].i_ex); free(st[i].i_in); free(st[i].arriving);
            free(st[i].refractory); free(st[i].spiked); free(st[i].flag);
        }
        free(st);
        free(my_events);
    }
    return failed ? -1 : 0;
}
