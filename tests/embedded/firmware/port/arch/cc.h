/* lwIP's architecture header for the Cortex-M4F echo firmware (arm-none-eabi GCC, newlib-nano). */
#ifndef FIRMWARE_ARCH_CC_H
#define FIRMWARE_ARCH_CC_H

#ifdef __cplusplus
extern "C" void board_fatal(void);
#else
void board_fatal(void);
#endif

#define LWIP_PLATFORM_DIAG(x) \
  do {                        \
  } while (0)
#define LWIP_PLATFORM_ASSERT(x) board_fatal()

#endif /* FIRMWARE_ARCH_CC_H */
