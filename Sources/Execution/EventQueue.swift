import Foundation

/// A blocking FIFO of executor events: reader threads put, the scheduler's `nextEvent` takes.
final class EventQueue<Element>: @unchecked Sendable {
    private let condition = NSCondition()
    private var items: [Element] = []
    private var head = 0

    func put(_ item: Element) {
        condition.lock()
        items.append(item)
        condition.signal()
        condition.unlock()
    }

    func take() -> Element {
        condition.lock()
        defer { condition.unlock() }
        while head == items.count { condition.wait() }
        let item = items[head]
        head += 1
        if head > 64, head * 2 > items.count { items.removeFirst(head); head = 0 }
        return item
    }
}
