/// Internal: the house style every chart shares (fonts, greys, sizes in px).
enum Style {
    static let fontFamily = "Helvetica, Arial, sans-serif"
    static let tickFont = 11.0
    static let labelFont = 12.0
    static let titleFont = 14.0
    static let legendFont = 11.0
    static let lineHeight = 1.25

    static let text = "#222222"
    static let mutedText = "#555555"
    static let axis = "#4d4d4d"
    static let grid = "#e3e3e3"
    static let minorGrid = "#f2f2f2"
    static let missing = "#d9d9d9"

    static let majorTick = 5.0
    static let minorTick = 3.0
    static let tickGap = 3.0
    static let edge = 10.0

    static let lineWidth = 2.0
    static let markerRadius = 3.5
    static let bandOpacity = 0.2
}
