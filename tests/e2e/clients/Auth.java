// tests/e2e/clients/Auth.java PORT SCENARIOS_FILE — pgjdbc connects once per scenario
// (lines: name|user|password|db|sslmode|rootcert|host, "-" for none) and prints one line
// each: name|result, result "ok" or the SQLSTATE. auth_clients.py compares the
// lines from tally with those from PostgreSQL 15.
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Properties;

public class Auth {
    public static void main(String[] args) throws Exception {
        int port = Integer.parseInt(args[0]);
        for (String line : Files.readAllLines(Path.of(args[1]))) {
            if (line.isBlank()) continue;
            String[] f = line.split("\\|", -1);
            String host = f[6].equals("-") ? "127.0.0.1" : f[6];
            Properties p = new Properties();
            p.setProperty("user", f[1]);
            if (!f[2].equals("-")) p.setProperty("password", f[2]);
            p.setProperty("sslmode", f[4].equals("-") ? "disable" : f[4]);
            if (!f[5].equals("-")) p.setProperty("sslrootcert", f[5]);
            p.setProperty("connectTimeout", "10");
            p.setProperty("socketTimeout", "30");
            String result;
            try (Connection c = DriverManager.getConnection("jdbc:postgresql://" + host + ":" + port + "/" + f[3], p)) {
                try (PreparedStatement st = c.prepareStatement("select current_user, ?::int + 1")) {
                    st.setInt(1, 41);
                    try (ResultSet rs = st.executeQuery()) {
                        rs.next();
                        result = rs.getString(1).equals(f[1]) && rs.getInt(2) == 42 ? "ok" : "wrong answer";
                    }
                }
            } catch (SQLException e) {
                result = e.getSQLState() == null ? "error: " + e.getMessage().replace('|', '/') : e.getSQLState();
            }
            System.out.println(f[0] + "|" + result);
        }
    }
}
