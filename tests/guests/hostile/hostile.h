/* What the hostile guest's files share: port and MMIO access, output on COM1, the PM timer,
 * PCI configuration space, a pseudo-random source, and the failure count. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#define COM1	      0x3f8
#define PM_TMR	      0x608
#define TMR_HZ	      3579545u
#define VENDOR_VIRTIO 0x1af4

/* ---- port and MMIO access ------------------------------------------------------------- */
static inline void outb(uint16_t p, uint8_t v)
{
	__asm__ volatile("outb %0, %1" ::"a"(v), "Nd"(p));
}
static inline void outw(uint16_t p, uint16_t v)
{
	__asm__ volatile("outw %0, %1" ::"a"(v), "Nd"(p));
}
static inline void outl(uint16_t p, uint32_t v)
{
	__asm__ volatile("outl %0, %1" ::"a"(v), "Nd"(p));
}
static inline uint8_t inb(uint16_t p)
{
	uint8_t v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(p));
	return v;
}
static inline uint32_t inl(uint16_t p)
{
	uint32_t v;
	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(p));
	return v;
}
static inline uint8_t rd8(uint64_t a)
{
	return *(volatile uint8_t *)a;
}
static inline uint16_t rd16(uint64_t a)
{
	return *(volatile uint16_t *)a;
}
static inline uint32_t rd32(uint64_t a)
{
	return *(volatile uint32_t *)a;
}
static inline void wr8(uint64_t a, uint8_t v)
{
	*(volatile uint8_t *)a = v;
}
static inline void wr16(uint64_t a, uint16_t v)
{
	*(volatile uint16_t *)a = v;
}
static inline void wr32(uint64_t a, uint32_t v)
{
	*(volatile uint32_t *)a = v;
}
static inline void wr64(uint64_t a, uint64_t v)
{
	wr32(a, (uint32_t)v);
	wr32(a + 4, (uint32_t)(v >> 32));
}

void *memset(void *d, int c, size_t n);
void puts_(const char *s);
void putx(uint64_t v);
void putu(uint64_t v);
/* Waits until cond(arg) or ms milliseconds; returns cond's last value. */
int wait_until(int (*cond)(void *), void *arg, unsigned ms);
uint32_t cfg32(unsigned dev, unsigned off);
void cfg_wr32(unsigned dev, unsigned off, uint32_t v);
uint32_t rnd(void);
/* A failed check: counted (the guest then reports FAIL), and said on COM1. */
void hostile_fail(const char *what);
/* The NVMe controllers (class 01/08/02): malformed queues, PRPs and commands; returns how many
 * were attacked (hostile_nvme.c). */
unsigned hostile_nvme(void);
/* The e1000e NIC (8086:10D3): malformed rings, descriptors, buffers and registers; 1 when every
 * bad request failed alone and the NIC still exchanges ARP with L1 afterwards, 0 when not, -1
 * when there is none (hostile_e1000e.c). */
int hostile_e1000e(void);
/* The HD Audio controller (8086:293E): CORB/RIRB and descriptor lists outside RAM, garbage
 * streams and registers; 1 when a well-formed verb is still answered afterwards, 0 when not,
 * -1 when there is none (hostile_hda.c). */
int hostile_hda(void);
