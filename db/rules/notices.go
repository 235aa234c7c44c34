package rules

import "time"

// Notices: what the customer hears about a plan after the order. The rules,
// also in the README ("Customer notices"); the store queues each in the
// change that makes it due (db/notices.go):
//
//   - Plan started: when a plan starts (an attachment or usage), queued in
//     the change that starts it; not for a start reported so late that the
//     plan is already over.
//   - Data running low: when usage takes a plan to Notices.LowPercent of its
//     data, in the change that charges it. A batch that takes it past the
//     threshold and to its end sends only Data used up.
//   - Data used up: when usage uses up a plan's data before its end, in the
//     change that charges it; it says which plan took over, or that nothing
//     is left.
//   - Ends soon: Notices.EndsSoon before a plan's 30-day end, only while it
//     has data left; sent by the scheduler (NotifyDue). After downtime, an
//     "ends soon" for a plan that has already ended is not sent.
//   - Ended: when a plan reaches its 30-day end (not when it was used up,
//     which has its own notice), by the scheduler, which catches up after
//     downtime.

// StartNoticeDue reports whether a plan that just started is owed Plan
// started at now: not when the start was reported so late that the plan is
// over.
func StartNoticeDue(lp LinePlan, now time.Time) bool { return now.Before(lp.ExpiresAt) }

// EndsSoonDue reports whether a plan the scheduler finds near its end is
// owed Ends soon at now: only while it has data left, and an end already
// past (downtime) is not "soon": Ended tells it.
func EndsSoonDue(lp LinePlan, now time.Time) bool {
	return now.Before(lp.ExpiresAt) && lp.LeftBytes() > 0
}

// NoticeAfterUsage is the notice a batch of usage owes a plan whose data went
// from usedBefore to lp.UsedBytes, "" for none: used up wins over running low.
func NoticeAfterUsage(lp LinePlan, usedBefore int64, lowPercent int, now time.Time) string {
	if !now.Before(lp.ExpiresAt) {
		return "" // a late report about a plan that is over: nothing to tell now
	}
	if lp.State == PlanUsedUp {
		return EmailDataUsedUp
	}
	threshold := lp.DataBytes * int64(lowPercent) / 100
	if usedBefore < threshold && lp.UsedBytes >= threshold {
		return EmailDataLow
	}
	return ""
}
