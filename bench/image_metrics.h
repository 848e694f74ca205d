/* Frame quality against a reference: PSNR over RGB, SSIM over luma (8x8 windows, stride 4). */
#ifndef DRIFT_BENCH_IMAGE_METRICS_H
#define DRIFT_BENCH_IMAGE_METRICS_H

#include <stddef.h>
#include <stdint.h>

/* dB; 99 for identical frames. */
double psnr_rgb(const uint8_t *a, const uint8_t *b, size_t bytes);
double ssim_luma(const uint8_t *a, const uint8_t *b, int width, int height);

#endif
