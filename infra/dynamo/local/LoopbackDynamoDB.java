import java.lang.reflect.Field;

import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;

import software.amazon.dynamodb.services.local.main.ServerRunner;
import software.amazon.dynamodb.services.local.server.DynamoDBProxyServer;

/**
 * LoopbackDynamoDB starts DynamoDB Local listening on 127.0.0.1 alone.
 *
 * <p>DynamoDB Local has no option for the address it binds: its Jetty server
 * is made with a port only and listens on every interface, where anyone on
 * the network could read and change its tables without credentials. This
 * launcher takes the same arguments as DynamoDBLocal.jar (-port, -inMemory,
 * -dbPath, -sharedDb, -disableTelemetry...), builds the server through
 * DynamoDB Local's own ServerRunner, sets the host of each of its
 * connectors to 127.0.0.1 before it starts, and serves until the process
 * ends.
 *
 * <p>It reaches the Jetty server through the private field "server" of
 * DynamoDBProxyServer, which is no public API: when a new DynamoDB Local
 * changes that field or its connectors, the launcher refuses to start
 * rather than listen on every interface. with-dynamodb.sh compiles it
 * against the installed jar and runs it.
 */
public final class LoopbackDynamoDB {
    private static final String LOOPBACK = "127.0.0.1";

    private LoopbackDynamoDB() {}

    public static void main(String[] args) throws Exception {
        DynamoDBProxyServer proxy = ServerRunner.createServerFromCommandLineArgs(args);
        Server server = jettyServerOf(proxy);
        Connector[] connectors = server.getConnectors();
        if (connectors.length == 0) {
            fail("DynamoDB Local's server has no connector to bind to " + LOOPBACK);
        }
        for (Connector connector : connectors) {
            if (!(connector instanceof ServerConnector)) {
                fail("DynamoDB Local's connector " + connector + " cannot be bound to " + LOOPBACK);
            }
            ((ServerConnector) connector).setHost(LOOPBACK);
        }
        // A port already in use makes start throw, or print the error and
        // stop the server; either way the process exits with status 1 and
        // "Address already in use" on stderr, and with-dynamodb.sh tries
        // another port.
        proxy.start();
        if (!server.isStarted()) {
            System.exit(1);
        }
        proxy.join();
    }

    private static Server jettyServerOf(DynamoDBProxyServer proxy) throws IllegalAccessException {
        Field field;
        try {
            field = DynamoDBProxyServer.class.getDeclaredField("server");
        } catch (NoSuchFieldException e) {
            fail("DynamoDBProxyServer has no field \"server\"; this DynamoDB Local is not the one LoopbackDynamoDB knows");
            return null;
        }
        field.setAccessible(true);
        Object server = field.get(proxy);
        if (!(server instanceof Server)) {
            fail("DynamoDBProxyServer's field \"server\" is not a Jetty server: " + server);
        }
        return (Server) server;
    }

    private static void fail(String why) {
        System.err.println("LoopbackDynamoDB: " + why);
        System.exit(1);
    }
}
