/** Sizes shared by the lanes and the viewport. */

/** The width of the lane labels at the left of every row. */
export const LABEL_W = 112;
/** Whatever the zoom, blocks this narrow would hide their controls: the first zoom keeps segments wider. */
export const COMFORT_SEGMENT_PX = 150;
