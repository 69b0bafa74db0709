export { clusteredMean, type ClusteredEstimate } from './clustered.js';
export { holmAdjust } from './holm.js';
export { krippendorffAlpha, type Rating } from './krippendorff.js';
export { estimateMean, estimateMeanFromSums, tInterval, wilsonInterval, type IntervalMethod, type MeanEstimate } from './mean.js';
export { isBinary, moments, type Moments } from './moments.js';
export { comparePaired, mcnemarExact, pairedT, type PairedEstimate } from './paired.js';
export { quantile } from './quantile.js';
export { withinItemShare } from './replicates.js';
