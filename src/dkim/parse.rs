//! DKIM parse. (skeleton)
