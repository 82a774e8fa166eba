# --rtc base=localtime: with TZ=JST-9 in the VMM's environment, the guest's CMOS clock keeps
# Tokyo's time, 9 hours ahead of UTC (Windows expects the RTC in local time). QEMU as the L2
# VMM: -rtc base=localtime.
# shellcheck shell=sh
export TZ=JST-9
vmm_start rtc-localtime 1 256M \
	"$L2_BASE_CMDLINE phyllome.test=rtc-local phyllome.host_epoch=$(date +%s) phyllome.rtc_ahead=32400" \
	rtc:base=localtime
unset TZ
guest_test_end rtc-localtime rtc-local "$T_TEST" &&
	rig_ok rtc-localtime "$GT_DETAIL; exit 0 after ${GT_T_EXIT}s"
