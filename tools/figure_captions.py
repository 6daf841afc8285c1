"""Every figure of the book: its name (for "Figure 3.2" and ``{numref}``), caption and alt text.

Keyed by chapter (the notebook's stem) and by the id of the code cell that draws the figure, never
by position: cells can move, be split or be rewritten around a figure and keep its caption, as long
as the drawing cell keeps its id. ``python -m tools.chapter_meta`` writes these into the cells'
metadata (``mystnb.figure`` and ``mystnb.image.alt``); ``tests/test_chapter_anatomy.py`` fails when
a chapter's figure cell has no entry here, or an entry names a cell the chapter lacks.

* **caption**: what the figure is, in one or two sentences, without the numbers of one run (the
  prose after the figure gives those, glued from the computation).
* **alt**: what a reader who cannot see it needs: the kind of chart, its axes, and what the
  curves or panels do (WCAG 1.1.1); never a file name.
* **wide**: the figure is drawn wider than the text column, so its text would shrink below 9 px:
  the cell gets the ``full-width`` tag and the figure uses the page's margin too.
"""
from __future__ import annotations

from tools.chapter_meta import Figure

FIGURES: dict[str, dict[str, Figure]] = {
    "01_gaussian": {
        "ba0ffdff": Figure(
            "fig-gauss-paths",
            "The essay's experiment: the fitted standard deviation of every run over 1,000 generations, "
            "with the mean and median over runs and the theory's mean and median (dashed).",
            "Line chart, log scale: standard deviation against generation 0 to 999 for many thin run paths. "
            "The paths wander but the crowd falls steadily; the simulated mean and median follow the dashed "
            "theory curves down, the median below the mean."),
        "b8000e50": Figure(
            "fig-gauss-final-law",
            "Where the runs end: the histogram of the final standard deviation over runs, the log-normal law "
            "of the theory on top, and the essay's 0.45.",
            "Histogram of the final standard deviation over runs, skewed to the right, with a smooth "
            "log-normal density curve on top that follows the bars and a dotted vertical line at the "
            "essay's value 0.45."),
        "af08e0ea": Figure(
            "fig-gauss-run-averages",
            "How much an average over 10 or 100 runs varies: histograms of many such averages, with the "
            "theory's mean and one standard error either side.",
            "Two overlaid histograms of run averages of the final standard deviation: averages of 10 runs "
            "spread widely, averages of 100 runs cluster much more tightly around the theory's mean; "
            "vertical lines mark the theory's mean plus and minus one standard error and the essay's 0.45."),
        "e0a67b4d": Figure(
            "fig-gauss-methods",
            "Drawing the samples and the exact chain agree: medians with 5-95% bands of the standard "
            "deviation for both methods, and the theory.",
            "Line chart, log scale: median standard deviation against generation for the sampling method "
            "and the exact method, each with a shaded 5 to 95 percent band; the two bands overlap and both "
            "follow the dashed theory line down."),
        "4951f559": Figure(
            "fig-gauss-martingale",
            "ddof=0 against ddof=1: the mean and median of the fitted variance. With ddof=1 the theory's "
            "mean stays at 1 (a martingale) while the median, and every typical run, goes to zero.",
            "Two panels, log scale, variance against generation. Left, ddof=0: mean and median both fall. "
            "Right, ddof=1: the theory's mean is a flat line at 1, the simulated mean sags below it late, "
            "and the median falls steadily like the left panel's.", wide=True),
        "38e760e5": Figure(
            "fig-gauss-drift",
            "The mean wanders away: the expected squared drift of the fitted mean and the squared W2 "
            "distance to the truth grow with the generations, simulation against theory.",
            "Two panels against generation: left, the mean squared distance of the fitted mean from the "
            "true mean rises and levels off; right, the squared Wasserstein-2 distance to the truth rises "
            "the same way; simulated curves lie on the dashed theory curves.", wide=True),
        "faa2fcff": Figure(
            "fig-gauss-log-det",
            "Many dimensions: the log-determinant of the fitted covariance falls in a straight line, at "
            "the rate the Wishart law predicts.",
            "Line chart: mean log-determinant of the fitted covariance against generation, with a replicate "
            "band; it falls along a straight line that matches the dashed theory line."),
        "7e4b0e09": Figure(
            "fig-gauss-sampling-bias",
            "Sampling bias speeds collapse: the median standard deviation for lambda = 1, 0.99 and 0.95, each "
            "with its closed-form median (dashed), whose rate is about 1/n + ln(1/lambda)/2 a generation.",
            "Line chart, log scale: median standard deviation against generation for three values of "
            "lambda, each with a band and a dashed closed-form line through it; the smaller lambda, the "
            "steeper the straight-line fall."),
        "37d190ca": Figure(
            "fig-gauss-workflows",
            "Only replace collapses: the standard deviation under replace, augment, fresh data and "
            "accumulate, with n = 100 samples per generation; dashed, replace's closed-form median; dotted, "
            "the fixed point of augment and fresh data to first order.",
            "Line chart, log scale: standard deviation against generation for four workflows with bands. "
            "Replace falls steadily towards zero along a dashed closed-form line; augment, fresh data and "
            "accumulate stay near a dotted horizontal line at 1."),
    },
    "02_cats": {
        "bec3f831": Figure(
            "fig-cats-strip",
            "One world of 100 cats, generation by generation: 20 representative cats per row, in hue order, "
            "with the colour counts on the right.",
            "Rows of small cat drawings, one row per generation from 0 down; the first rows have a few blue "
            "cats among yellow ones, and the blue cats thin out and disappear in later rows while the count "
            "column shows blue reaching 0."),
        "6ac966f8": Figure(
            "fig-cats-trajectories",
            "The blue share of many worlds, generation by generation: each wanders until it hits 0 (blue "
            "lost) or 1 (blue takes over).",
            "Line chart: blue share from 0 to 1 against generation, one thin line per world, all starting "
            "at 0.1; most lines drop to 0 within a few dozen generations, a few climb to 1 and stay."),
        "8c94edaa": Figure(
            "fig-cats-loss-times",
            "When blue is lost, and when it takes over: histograms over worlds of the two absorption times, "
            "with the theory's means.",
            "Two histograms of generations: left, the time until blue is lost, strongly skewed with most "
            "mass early and a long right tail; right, the rarer time until blue takes over, centred later; "
            "vertical lines mark the theory's mean times.", wide=True),
        "b74b8a8a": Figure(
            "fig-cats-survival",
            "The share of worlds that have lost blue by each generation: simulation against the exact "
            "chain and the diffusion approximation.",
            "Rising curve of the share of worlds that have lost blue against generation, climbing quickly "
            "then levelling off near the theory's 1 minus p; the simulated curve lies on the exact theory "
            "curve."),
        "d1a1590b": Figure(
            "fig-cats-gaussian-strip",
            "One Gaussian fitted to its own cats, in one world: green, orange and red cats appear at once, "
            "and colours drop out generation by generation.",
            "Rows of cat drawings per generation: generation 0 has yellow and blue cats only; from "
            "generation 1 on, cats of in-between and outer hues (green, orange, red) appear, and later rows "
            "hold fewer distinct colours."),
        "eb0a415d": Figure(
            "fig-cats-hue-histograms",
            "Histograms of fur hue at several generations under the one-Gaussian model, bars filled with "
            "their own hue, colour-name ranges shaded behind.",
            "Small multiples of hue histograms: generation 0 has two separate peaks, yellow and blue; later "
            "generations show one broad bump centred between them, in the green range, that narrows and "
            "drifts."),
        "924c7d41": Figure(
            "fig-cats-colour-shares",
            "Colour shares averaged over worlds under the one-Gaussian model, and the number of colours "
            "present per world (dotted, right axis).",
            "Line chart: share of each colour name against generation, nearly flat after generation 1 with "
            "green high from the start; a dotted black line on a second axis shows the colours present per "
            "world falling steadily."),
        "caff5bdf": Figure(
            "fig-cats-mixture-strip",
            "A two-component mixture fitted to its own cats, in one world: no green cats, but blue still "
            "vanishes.",
            "Rows of cat drawings per generation with yellow and blue cats only and almost no in-between "
            "hues; the blue cats become fewer and vanish in later rows."),
        "d99c4ee5": Figure(
            "fig-cats-model-richness",
            "Colour shares averaged over worlds: one Gaussian (too simple) beside a two-component mixture "
            "(rich enough).",
            "Two line charts of colour shares against generation. Left, one Gaussian: green and other "
            "invented colours take a large share from generation 1. Right, the mixture: yellow and blue "
            "keep almost all of the share and green stays near zero.", wide=True),
        "3df4db33": Figure(
            "fig-cats-zipf-survival",
            "Rare words die first: median generations until a word is lost against how often it occurred, "
            "with the branching-process line.",
            "Scatter of median survival in generations against initial count, rising along a straight line; "
            "the theory's straight line passes through the points."),
        "0a987ac0": Figure(
            "fig-cats-zipf-tails",
            "Tails and scaling laws: test error against training-set size for clean, tail-cut and mixed "
            "data, simulated and exact, with the tail-cut plateau.",
            "Log-log chart of test error against training-set size: the clean-data line falls straight; "
            "the tail-cut line follows it, then flattens onto a horizontal plateau; the mixed-data lines "
            "fall again after a delay, the later the smaller the clean share."),
        "c2b2e2eb": Figure(
            "fig-cats-remedies",
            "Which workflow keeps blue cats alive: the share of worlds with no blue cat, per workflow.",
            "Curves of the share of worlds without blue against generation for several workflows: without "
            "real data the share climbs high; keeping 10 percent real cats keeps it near zero, and "
            "accumulating keeps it low."),
    },
    "03_gmm": {
        "f457a1b4": Figure(
            "fig-gmm-blobs-snapshots",
            "Two blobs refitted on their own samples: one chain's samples at several generations, the true "
            "modes as crosses.",
            "Row of scatter panels, one per generation, sharing axes: two round clusters at the crosses in "
            "generation 0 drift, stretch and tilt away from them in later panels."),
        "f457a1b4-1": Figure(
            "fig-gmm-blobs-metrics",
            "Two blobs, fully synthetic loop: distance to the truth, total variance and recall per "
            "generation (median and 5-95% band over chains).",
            "Three line panels against generation: sliced W2 distance to the truth rises, the total "
            "variance drifts and its band fans out, recall falls; each with a shaded band.", wide=True),
        "fe0e6370": Figure(
            "fig-gmm-grid-snapshots",
            "25 modes, fully synthetic loop without bias: one chain's samples at several generations.",
            "Scatter panels per generation: a 5 by 5 grid of tight clusters at the crosses in generation 0 "
            "becomes irregular, with clusters merging, drifting between modes and some modes left empty."),
        "fe0e6370-1": Figure(
            "fig-gmm-grid-biased-snapshots",
            "25 modes with sampling bias (lambda = 0.8): one chain's samples shrink onto fewer modes.",
            "Scatter panels per generation: the 5 by 5 grid of clusters tightens into small dots and more "
            "and more modes are left without samples."),
        "fe0e6370-2": Figure(
            "fig-gmm-grid-metrics",
            "Fully synthetic loop on 25 modes: precision, recall and modes covered, without bias, with "
            "lambda = 0.8 and with cherry-picking.",
            "Three line panels against generation: precision stays high with bias and falls without; recall "
            "and the number of modes covered fall for all three runs, fastest with bias and "
            "cherry-picking.", wide=True),
        "2e24d8a9": Figure(
            "fig-gmm-three-loops",
            "The three loops of the MAD study on 25 modes: augmentation, fresh data from a good start and "
            "fresh data from a collapsed start.",
            "Three line panels against generation, log x axis: precision, recall and modes covered. The two "
            "fresh-data runs start far apart and meet at one level within a few generations; augmentation "
            "stays close to its start.", wide=True),
        "2e24d8a9-1": Figure(
            "fig-gmm-fresh-recovers",
            "The fresh-data loop recovers from a collapsed first generation: one chain's samples.",
            "Scatter panels per generation: generation 0 covers only a few of the 25 grid modes; fresh real "
            "data spreads the samples back over the grid in later panels."),
        "90123044": Figure(
            "fig-gmm-phase-gaussian",
            "The phase diagram of the fresh-data loop for Gaussians: effective sample size over real "
            "sample size, per synthetic share and sample size, one panel per lambda.",
            "Heatmaps, one per lambda: cells coloured blue where synthetic data helps (ratio above 1) and "
            "red where it hurts; without bias most cells are blue; with bias red cells appear at large "
            "synthetic shares."),
        "8f5305c8": Figure(
            "fig-gmm-phase-mixture",
            "The same phase diagram for a two-blob mixture, measured by KL divergence from the truth.",
            "Heatmaps, one per lambda, blue where synthetic data helps and red where it hurts, with the same "
            "pattern as for Gaussians: blue without bias, a red region at large synthetic shares with bias."),
        "1eed6589": Figure(
            "fig-gmm-moons",
            "Two moons: replace against accumulate, precision, recall and distance to the truth per "
            "generation.",
            "Three line panels against generation: under replace recall falls and the sliced W2 distance "
            "rises; under accumulate recall stays level and the distance stays small.", wide=True),
        "350a5e0e": Figure(
            "fig-gmm-explorer-default",
            "The explorer's default view: the 25-mode grid under replace, samples at three generations above "
            "precision, recall and modes covered.",
            "Top row: three scatter panels of samples at the first, a middle and the last generation over "
            "the 25 true modes, clusters drifting and emptying; bottom row: precision, recall and modes "
            "covered against generation with bands, recall and modes covered falling.", wide=True),
        "realonly": Figure(
            "fig-gmm-real-only",
            "The measured real-only curves that the effective sample size is read from: the mean distance to "
            "the truth of a fit to n real items, beside the 1/n law.",
            "Two log-log line panels of the distance of a real-only fit against the number of real items. "
            "Left, Gaussians: the measured points lie on the dashed 1/n line. Right, the two-blob mixture: "
            "the distance is far above the 1/n line at the smallest sizes and joins it from a few dozen items on."),
    },
    "04_vae": {
        "design-curves": Figure(
            "fig-vae-design-curves",
            "What the loop hands on against the workflow: FID and recall by generation for replace, fresh data "
            "and accumulate, each with decoder means and with Bernoulli draws, means over seeds with their range.",
            "Two line panels against generation. Colour is the workflow, line style what is handed on (solid: "
            "decoder means, dashed: Bernoulli draws). FID rises and recall falls fastest for replace with "
            "means; the Bernoulli-draw lines start at a lower FID and a higher recall and stay there longer; "
            "fresh data and accumulate lie between, and a dotted line marks the real digits.", wide=True),
        "0cda76b3": Figure(
            "fig-vae-replace-grid",
            "A VAE trained on its own digits (replace): samples by generation, one latent vector per column "
            "so a column follows one digit.",
            "Grid of small grey digit images: rows are generations, columns fixed latent vectors; the top "
            "rows show recognisable digits, lower rows thicker, hazier and more ambiguous ones."),
        "binarized": Figure(
            "fig-vae-binarized",
            "Decoder means against Bernoulli draws: the same loop when each generation trains on binarised "
            "(speckled) digits.",
            "Two digit grids side by side, rows are generations: left, smooth grey decoder means; right, "
            "speckled black-and-white digits whose strokes break up faster over the generations.",
            wide=True),
        "7e53286a": Figure(
            "fig-vae-metrics",
            "Quality and diversity of the VAE's digits per generation: FID, precision, recall and class "
            "entropy for replace (with and without sampling bias), fresh data and accumulate.",
            "Four line panels against generation, one line per workflow with a band over seeds and a "
            "dotted grey line for real digits: FID rises and recall falls most under replace, less under "
            "fresh data and accumulate; class entropy drops fastest with sampling bias.", wide=True),
        "3c465b04": Figure(
            "fig-vae-workflow-grids",
            "Digits by generation under each workflow, from the same generation-0 network.",
            "Four digit grids, rows are generations: under replace the digits blur and merge into similar "
            "shapes; under fresh data and accumulate each column stays the same digit to the last row.",
            wide=True),
        "3436e9fb": Figure(
            "fig-vae-class-histograms",
            "Which digits vanish first: the share of samples the classifier calls each digit, for a few "
            "generations, with sampling bias.",
            "Grouped bar chart of the share of each digit 0 to 9 at a few generations, against a 10 percent "
            "line for real digits; over the generations a few digits grow while others shrink towards "
            "zero."),
        "embedding": Figure(
            "fig-vae-embedding",
            "Modes merging, on a t-SNE map of the classifier's features: real digits in grey, samples "
            "coloured by the digit the classifier sees, with and without sampling bias.",
            "Two rows of scatter maps, one panel per generation: grey clusters of real digits with coloured "
            "sample points; over the generations the coloured points leave the outer clusters and gather "
            "in the middle, faster in the biased row.", wide=True),
        "d121c9f3": Figure(
            "fig-vae-generation-view",
            "The explorer's view: one run's samples at its last generation, beside its digit histogram.",
            "Left, a grid of generated digits from the last generation under replace; right, a bar chart "
            "of the share of each digit, uneven compared with the flat real share.", wide=True),
        "kept-solution": Figure(
            "fig-vae-kept-real",
            "Exercise solution: keeping 10% real digits in every generation against replace, on the four "
            "metrics.",
            "Four line panels against generation for replace and for replace keeping 10 percent real "
            "digits: the kept-real run's FID and recall stay much closer to the real digits' dotted line.",
            wide=True),
    },
    "05_lm": {
        "c6a3f6e2": Figure(
            "fig-lm-perplexity",
            "Perplexity on a play neither model saw (Macbeth), per generation: the transformer (fine-tuned "
            "from one pre-trained base) and the 5-gram model, replacing, keeping 10% real text and "
            "accumulating.",
            "Two line panels of per-character perplexity against generation, one line per workflow, with a "
            "dashed line for the pre-trained base in the transformer's panel: under replace the perplexity "
            "climbs generation after generation; keeping 10 percent real text climbs less; accumulating "
            "stays lowest.", wide=True),
        "7c3574ab": Figure(
            "fig-lm-sequence-perplexity",
            "How probable the generation-0 model finds each generation's text: histograms of per-sequence "
            "perplexity for the transformer and the 5-gram at temperature 1, and the 5-gram with beam "
            "search.",
            "Three panels of histograms on a log perplexity axis, one colour per generation, the real "
            "blocks of generation 0 as reference: at temperature 1 the whole distribution moves to higher "
            "perplexity, beyond the real text's range; with beam search it moves to lower perplexity, left "
            "of the real text.", wide=True),
        "32c9bf60": Figure(
            "fig-lm-rare-words",
            "Rare words vanish first, and words stop being words: word survival by initial count against "
            "neutral resampling and real text, and the share of real words written per generation against "
            "the play's own continuations.",
            "Two panels. Left: share of generation-0 words still used against their initial count on a log "
            "axis, rising with the count; dotted neutral-resampling curves above, and a dashed black line "
            "for real text. Right: the share of written words found "
            "in the training plays against generation, one line per run, below a dashed ceiling for real "
            "text.", wide=True),
        "a4c063b3": Figure(
            "fig-lm-diversity",
            "How diverse the text is, measured on the same number of words every generation: distinct-2, "
            "and the effective vocabulary (Hill numbers of orders 0, 1 and 2) relative to real text.",
            "Three line panels against generation. Left: distinct-2 of the transformer's and the 5-gram's "
            "training text, each with a dotted line for real text. Middle and right: for the transformer "
            "and for the 5-gram, the Hill numbers of orders 0, 1 and 2 divided by real text's, with a "
            "dashed line at 1 for real text.", wide=True),
        "fd9edfdf": Figure(
            "fig-lm-decoding",
            "Decoding is sampling bias: how probable, how diverse and how good the 5-gram's text is, for "
            "temperature 1, temperature 0.6 and beam search.",
            "Three line panels against generation for three decoders: the median perplexity of the text "
            "under generation 0, its distinct-2 at a fixed size, and perplexity on Macbeth; beam search "
            "writes the most probable and least diverse text.", wide=True),
        "5ec4d4aa": Figure(
            "fig-lm-explorer-default",
            "The explorer's default view: the 5-gram model under replace at temperature 1, its test "
            "perplexity, the diversity of its text and the vocabulary it keeps.",
            "Three line panels against generation with bands: perplexity on real test text rising, "
            "distinct-2 of the training text at a fixed size, and the share of generation-0 words still "
            "used falling, beside a dotted line for the next real text.", wide=True),
    },
    "06_remedies": {
        "a5dbe8fd": Figure(
            "fig-remedies-keep-real",
            "Keep the real data: relative quality of the Gaussian, the blue cats and the mixture under "
            "replace, keep 10% real, accumulate (with and without a fixed budget) and fresh data; on the "
            "Gaussian, the theory's fixed point of the kept share (dashed).",
            "Three line panels, one per family, of quality relative to generation 0 against generation: "
            "replace falls far; accumulate and fresh data stay near 1; keeping 10 percent real data settles "
            "just below 1 on the Gaussian, on a dashed line at the theory's fixed point.", wide=True),
        "b947dcd8": Figure(
            "fig-remedies-keep-real-vae-lm",
            "The same remedies on the expensive families, from chapters 4 and 5's runs: the VAE's recall and "
            "the language model's 1 / perplexity relative to generation 0, mean over seeds with the seeds' "
            "range shaded.",
            "Two line panels against a handful of generations, each line with a shaded band: the VAE's "
            "relative recall falls under replace, and less with kept real data, accumulation or fresh data; "
            "the language model's relative quality falls under replace and stays near 1 with fresh data.",
            wide=True),
        "44e35a60": Figure(
            "fig-remedies-regression",
            "Linear regression in closed form: test error relative to generation 0 under replace, "
            "accumulate and accumulate with a fixed budget; simulated means with bands on the dashed "
            "closed forms.",
            "Two line panels of relative test error against generation: replace rises in a straight line; "
            "accumulate levels off below the dotted pi squared over 6 bound; the right panel zooms on the "
            "bounded curves; simulated bands lie on the dashed theory.", wide=True),
        "161cadd2": Figure(
            "fig-remedies-kept-fraction",
            "How much real data is enough: the final relative quality against the kept real fraction, one "
            "line per family, and the Gaussian theory (dashed).",
            "Line chart of final quality against the kept real fraction from 0 to 0.5: the Gaussian rises "
            "quickly towards 1 along the dashed theory curve, the blue cats rise more slowly."),
        "32648b22": Figure(
            "fig-remedies-reset",
            "A pristine snapshot, reset every 10 generations, against fresh data and replace.",
            "Two line panels of relative quality against generation: the reset curve is a saw-tooth that "
            "falls for nine generations and jumps back at each reset; fresh data stays flat near 1; "
            "replace falls steadily.", wide=True),
    },
    "07_filtering": {
        "581b3122": Figure(
            "fig-filtering-verifiers",
            "Verification against self-curation on the toy families: no filter, an oracle verifier, a "
            "learned verifier and filtering by the model's own likelihood.",
            "Three line panels, one per family, of relative quality against generation: the oracle holds "
            "every family near 1, the learned verifier comes close on some, and filtering by the model's "
            "own likelihood falls faster than no filter at all.", wide=True),
        "a91a285f": Figure(
            "fig-filtering-verifiers-vae-lm",
            "Verification on the expensive families: the VAE and the language model with no filter, a "
            "learned verifier and self-likelihood filtering; mean over seeds with the seeds' range shaded.",
            "Two line panels of relative quality against a handful of generations for three filters, each "
            "with a shaded band; on the VAE all three decline, on the language model the filters do not "
            "hold the quality either.", wide=True),
        "c7f00006": Figure(
            "fig-filtering-web-scrape",
            "A web scrape with cherry-picked synthetic content, with and without a detector, against "
            "replace; on the Gaussian, the theory's fixed points (dashed).",
            "Two line panels of relative quality against generation: replace falls steadily; the web scrape "
            "without a detector drops within a few generations to a flat level on its dashed theory line "
            "near 0.75 and stays there; with a detector it stays just below 1, also on its dashed line.",
            wide=True),
        "c7f00008": Figure(
            "fig-filtering-sweeps",
            "How good must a detector be, and how strong a reweighting: the final relative quality against "
            "the detector's miss rate and the tail-reweighting strength, one line per family, with the "
            "Gaussian theory (dashed).",
            "Two line panels. Left: quality falls smoothly as the detector misses more synthetic items, the "
            "Gaussian along its dashed theory curve. Right, on a symmetric-log axis: the Gaussian's spread "
            "stays near 1 up to the dotted line at 2/n and then grows steeply, as the dashed theory does; the "
            "blue cats' share climbs from near 0 to well above 1.", wide=True),
        "c7f0000b": Figure(
            "fig-filtering-corrector",
            "Self-correction on the toy families: each synthetic batch moved part of the way onto what is "
            "known of the real data, against no remedy.",
            "Three line panels, one per family, of relative quality against generation: with the corrector "
            "the curves stay near 1, without it they fall.", wide=True),
        "75373767": Figure(
            "fig-filtering-scoreboard",
            "The scoreboard of chapters 6 and 7: every remedy on every family, coloured by the final "
            "relative quality; the text gives the verdict (held, settles at a level, falls or lost) and the "
            "generation the quality first fell below the threshold.",
            "Heat map with families as rows and remedies as columns, cells coloured from dark (low final "
            "quality) to light (high) on a colour-blind-safe scale; each cell says held, settles with a "
            "level, falls or lost with a generation, and the final value; accumulate, fresh data and the "
            "oracle verifier hold on most rows, the web scrape settles, self-likelihood is lost.", wide=True),
        "1209a807": Figure(
            "fig-filtering-explorer-default",
            "The explorer's default view: the blue cats under no remedy, the oracle verifier, the learned "
            "verifier and self-likelihood filtering.",
            "Line chart of relative quality against generation for four remedies on the blue cats: the two "
            "verifiers stay high, no remedy and self-likelihood filtering fall."),
    },
    "08_theory": {
        "theory-005": Figure(
            "fig-theory-random-walk",
            "Regime 1, a random walk with absorption: left, the Gaussian's log-variance over the generations with "
            "its closed-form drift and spread; right, the share of cat worlds that have lost blue, against the exact "
            "Wright-Fisher chain and the absorption probability.",
            "Two panels. Left, line chart of the log of the fitted variance against generation: the simulated mean "
            "falls in a straight line on the dashed closed-form drift, inside a shaded band of runs that widens over "
            "time. Right, share of worlds that lost blue against generation on a log axis: the curve rises on the "
            "dashed exact chain towards a dotted horizontal line at the loss probability.", wide=True),
        "theory-008": Figure(
            "fig-theory-contraction",
            "Regime 2, a contraction to a fixed point: left, the Gaussian's expected variance when each generation "
            "keeps real data or scrapes a partly synthetic web; right, its expected spread under a corrector; closed "
            "forms dashed, fixed points dotted.",
            "Two panels of line charts against generation. Left, expected variance: replace keeps falling, while "
            "keeping 5 or 20 percent real data and the web scrape each level off on their dashed closed forms at "
            "dotted horizontal fixed points below 1. Right, expected standard deviation: replace falls, two "
            "corrector strengths level off at their fixed points, the stronger one higher.", wide=True),
        "theory-012": Figure(
            "fig-theory-summable",
            "Regime 3, summable noise: the error of generation t relative to generation 0 for linear regression, a "
            "Poisson rate and a logistic fit, under accumulate (left, bounded by pi squared over 6) and replace "
            "(right, growing like t + 1).",
            "Two panels against generation. Left, accumulate: three curves for the three models rise quickly and "
            "flatten on the dashed partial sums of 1 over k squared, below a dotted line at pi squared over 6, about "
            "1.64. Right, replace, log scale: the three curves climb along the dashed line t + 1 without "
            "bound.", wide=True),
        "theory-015": Figure(
            "fig-theory-strong-collapse",
            "Strong model collapse: the excess test error of least squares against the training-set size for "
            "several fixed synthetic shares, with the closed forms (dashed) and the plateaus p²‖Δ‖² (dotted).",
            "Log-log chart of excess test error against training-set size n. With real data only the points fall "
            "in a straight line of slope minus one; with a synthetic share they leave that line and bend onto a "
            "dotted horizontal plateau, sooner and higher for a larger share; dashed closed forms run through the "
            "points."),
        "theory-017": Figure(
            "fig-theory-model-size",
            "Model size and collapse: left, the excess test error of random-feature models with and without a "
            "synthetic share against the model size; right, the collapse term, their paired difference, which "
            "peaks at the interpolation threshold.",
            "Two panels, log vertical axes, model size on the horizontal axis with a dotted vertical line at the "
            "interpolation threshold m = n. Left, two error curves, real data only and with the synthetic share, "
            "both spiking at the threshold. Right, the collapse term rises from small models to a peak at the "
            "threshold and falls beyond it, staying above the small models' level; dashed closed form below the "
            "threshold.", wide=True),
        "theory-020": Figure(
            "fig-theory-verifier-transition",
            "Verification has a breakdown point: the test accuracy of a classifier trained on verified synthetic "
            "labels against the verifier's accuracy, for growing numbers of candidates, with the closed forms and "
            "the unlimited-data step.",
            "Line chart of the trained classifier's test accuracy against the verifier's accuracy q. Curves for "
            "more candidates sharpen from a gentle slope into a step at a vertical line marking the breakdown "
            "point: below it accuracy is worse than a coin, above it close to a dashed horizontal line at the "
            "optimal accuracy; a dotted step shows the unlimited-data limit."),
        "theory-022": Figure(
            "fig-theory-biased-verifier",
            "A biased verifier: left, the regression's squared error to the truth over the generations for a model "
            "worse and one better than the verifier, and an unbiased verifier; right, the distance to the "
            "verifier's knowledge center, closed forms dashed.",
            "Two panels, log vertical axes, against generation. Left, squared error to the truth: the model that "
            "started from few real items improves and then flattens on a dotted line at the verifier's own error, "
            "the one that started from many rises up to the same line, and the unbiased verifier's falls far below it. "
            "Right, distance to the knowledge center: all curves fall, first along the dashed unlimited-data lines, "
            "then level off on a dotted floor where finite samples hold them while the dashed lines keep "
            "falling.", wide=True),
        "theory-025": Figure(
            "fig-theory-curation",
            "Curation is reward optimisation: left, the share of the curator's favourite category over the "
            "generations for several real shares; right, the expected reward, which rises towards its maximum; "
            "closed forms dashed.",
            "Two panels against generation. Left, the favourite category's share: without real data it climbs "
            "steadily, with a real share of 0.2 it rises more slowly and with 0.5 it levels off near its start, "
            "each on a dashed closed form. Right, expected reward: every curve rises from a thin dashed line at "
            "the real data's reward, fastest without real data, towards a dotted line at the reward's "
            "maximum.", wide=True),
        "theory-028": Figure(
            "fig-theory-corrector",
            "Self-correction on the fully synthetic loop: relative quality (chapter 6's measure) over the "
            "generations for the Gaussian and the cats, under plain replace and under replace with a corrector of "
            "strength 0.5.",
            "Two panels, Gaussian and cats, relative quality from 0 to 1 against generation. In both, the solid "
            "replace curve falls towards zero while the dashed corrector curve stays high and roughly flat.",
            wide=True),
        "theory-035": Figure(
            "fig-theory-explorer",
            "The explorer at a share of 0.05 and 100 items a generation: the expected variance under replace, a "
            "kept real share, a fresh real share and a corrector, closed forms as lines and simulated means as "
            "dots.",
            "Line chart of expected variance against generation, with a dashed line at the truth, 1: the replace "
            "curve falls in a straight line, the kept real share and fresh real share curves, almost on top of each "
            "other, bend and level off below 1, and the corrector curve bends too, lower; dots of simulated means "
            "scatter around the lines."),
    },
    "09_questions": {
        "qa-11": Figure(
            "fig-questions-verifier",
            "Blue cats with and without a verifier: the blue share of the median world relative to the true "
            "10%.",
            "Line chart against generation: without a verifier the blue share of the median world falls "
            "to zero; with an oracle verifier it stays near the true share."),
        "qa-14": Figure(
            "fig-questions-snapshot",
            "A pristine snapshot against fresh data: the Gaussian's fitted spread relative to generation 0 "
            "under replace, a reset to the snapshot every 10 generations, and fresh data.",
            "Line chart against generation: replace falls steadily, the reset curve is a saw-tooth that "
            "drops and jumps back every 10 generations, fresh data stays flat near 1."),
        "qa-17": Figure(
            "fig-questions-martingale",
            "The law of large numbers does not save the loop: the mean of the fitted variance stays at the "
            "truth while its median falls (ddof=1).",
            "Line chart, log scale, fitted variance against generation: the theory's mean is flat at 1, "
            "the simulated mean wanders around it, and the median falls steadily below."),
        "qa-24": Figure(
            "fig-questions-early-late",
            "Early and late collapse in one model: the Gaussian's tail mass beyond ±2σ₀ and its spread σ, each as a "
            "share of the truth's value (median over runs, closed forms dashed); right, the tail kept against the "
            "spread kept.",
            "Left, two falling curves against generation: the tail mass drops to half within about a sixth of "
            "the run while the spread falls slowly; right, the tail kept against the spread kept lies far below "
            "the diagonal on which both would be lost at the same rate."),
        "qa-knowledge-2": Figure(
            "fig-questions-knowledge",
            "Knowledge collapse, a toy: the Hellinger distance of public knowledge from the truth against the "
            "share drawn from an AI that returns only the centre |x| ≤ c.",
            "Three rising curves against the AI share from 0 to 1, one per truncation c = 0.5, 1 and 2: the "
            "narrower the AI, the larger the distance, largest when the AI is the only source."),
        "qa-hivemind-2": Figure(
            "fig-questions-hivemind",
            "Do models start to sound the same? Word-bigram similarity of chapter 5's 5-gram loops: left, one "
            "loop's continuations of different prompts; right, two loops' continuations of the same prompt.",
            "Two panels against generation. Left: for the biased decoders (temperature 0.6, beam search) the "
            "similarity between continuations of different prompts rises toward 1, for temperature 1 it stays "
            "near 0. Right: the similarity between different loops on the same prompt stays near 0."),
        "qa-27": Figure(
            "fig-questions-detector",
            "Watermarks and detectors: the final relative quality against the detector's miss rate, one "
            "line per family.",
            "Line chart: final relative quality falls as the detector's miss rate rises from 0 to 1, for "
            "the Gaussian and the blue cats, from near 1 with a perfect detector to the no-remedy level "
            "with a blind one."),
    },
}
