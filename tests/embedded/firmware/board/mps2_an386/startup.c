/* mps2-an386 startup: the vector table (read by the core at address 0), the reset handler, fault handlers that
 * report and exit through semihosting, and the semihosting calls behind board_log() and board_fatal(). */
#include <stdint.h>

#include "board.h"

#define SCB_CPACR (*(volatile uint32_t *)0xE000ED88u)
#define SCB_SHCSR (*(volatile uint32_t *)0xE000ED24u)
#define SCB_CFSR (*(volatile uint32_t *)0xE000ED28u)
#define SCB_HFSR (*(volatile uint32_t *)0xE000ED2Cu)

/* ---- semihosting (QEMU's -semihosting-config enable=on,target=native) ---- */
#define SEMIHOSTING_SYS_WRITE0 0x04u
#define SEMIHOSTING_SYS_EXIT_EXTENDED 0x20u
#define SEMIHOSTING_APPLICATION_EXIT 0x20026u

static uint32_t semihosting_call(uint32_t operation, const void *argument) {
  register uint32_t r0 __asm("r0") = operation;
  register const void *r1 __asm("r1") = argument;
  __asm volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
  return r0;
}

void board_log(const char *text) { semihosting_call(SEMIHOSTING_SYS_WRITE0, text); }

/* QEMU exits with `status` (SYS_EXIT_EXTENDED: the plain SYS_EXIT on 32-bit ARM only tells 0 from 1). */
static void __attribute__((noreturn)) board_exit(uint32_t status) {
  const uint32_t block[2] = {SEMIHOSTING_APPLICATION_EXIT, status};
  semihosting_call(SEMIHOSTING_SYS_EXIT_EXTENDED, block);
  for (;;) __asm volatile("wfi"); /* without semihosting: stay here */
}

void board_fatal(void) {
  board_log("board: fatal stop (board_fatal)\n");
  board_exit(BOARD_EXIT_FATAL);
}

/* ---- faults ---- */
static char *append_hex(char *out, uint32_t value) {
  *out++ = '0';
  *out++ = 'x';
  for (int shift = 28; shift >= 0; shift -= 4) *out++ = "0123456789abcdef"[(value >> shift) & 0xFu];
  return out;
}

static char *append_text(char *out, const char *text) {
  while (*text) *out++ = *text++;
  return out;
}

/* Called by fault_entry with the stacked exception frame (r0-r3, r12, lr, pc, xpsr) and the exception
 * number: prints what happened and where, and exits with BOARD_EXIT_FAULT_BASE + the exception number. */
void __attribute__((used, noreturn)) fault_report(const uint32_t *frame, uint32_t exception) {
  static const char *const names[] = {"", "", "NMI", "HardFault", "MemManage", "BusFault", "UsageFault"};
  char line[128];
  char *out = append_text(line, "board: fault: ");
  out = append_text(out, exception < 7 ? names[exception] : "unexpected interrupt");
  out = append_text(out, " exception ");
  out = append_hex(out, exception);
  out = append_text(out, " pc ");
  out = append_hex(out, frame[6]);
  out = append_text(out, " cfsr ");
  out = append_hex(out, SCB_CFSR);
  out = append_text(out, " hfsr ");
  out = append_hex(out, SCB_HFSR);
  *out++ = '\n';
  *out = '\0';
  board_log(line);
  board_exit(BOARD_EXIT_FAULT_BASE + exception);
}

/* Every fault and unexpected interrupt: finds the frame the core stacked (main or process stack, from
 * EXC_RETURN's bit 2) and the exception number (IPSR), and goes on in C. */
static void __attribute__((naked)) fault_entry(void) {
  __asm volatile(
      "tst lr, #4\n"
      "ite eq\n"
      "mrseq r0, msp\n"
      "mrsne r0, psp\n"
      "mrs r1, ipsr\n"
      "b fault_report\n");
}

/* ---- reset ---- */
extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _estack;
extern void __libc_init_array(void);
int main(void);
void SysTick_Handler(void);
void board_ethernet_irq(void);

void Reset_Handler(void) {
  SCB_CPACR |= 0xFu << 20;                     /* the FPU: code built for -mfloat-abi=hard may use it */
  SCB_SHCSR |= (1u << 16) | (1u << 17) | (1u << 18); /* MemManage, BusFault and UsageFault report as such */
  for (uint32_t *src = &_sidata, *dst = &_sdata; dst < &_edata;) *dst++ = *src++;
  for (uint32_t *dst = &_sbss; dst < &_ebss;) *dst++ = 0;
  __libc_init_array();
  main();
  board_fatal(); /* the echo servers never return */
}

void *__dso_handle = 0; /* no shared objects here: what static destructors are registered against */
void _init(void) {}
void _fini(void) {}

/* The vector table: the initial stack, reset, the ARMv7-M exceptions, and the board's interrupts 0-13
 * (13 is the LAN9118; the others are not enabled, and would report as unexpected). */
#define LAN9118_IRQ 13
__attribute__((section(".isr_vector"), used)) void (*const vector_table[16 + LAN9118_IRQ + 1])(void) = {
    [0] = (void (*)(void))(&_estack),
    [1] = Reset_Handler,
    [2 ... 14] = fault_entry, /* NMI, the faults, SVCall, DebugMon, PendSV: none is used */
    [15] = SysTick_Handler,
    [16 ... 16 + LAN9118_IRQ - 1] = fault_entry,
    [16 + LAN9118_IRQ] = board_ethernet_irq,
};
